/*
 * HTTP/1.1 load generator for the benchmarks (bench/lib/http-load.ts builds and runs it; the node
 * worker http-load-worker.ts is the fallback where no C compiler is found). Same modes, inputs and
 * output as the node worker, at a fraction of its CPU per request, so on a 2-core box the generator
 * takes less of the machine the server under test runs on, and an open loop is paced at the
 * requested rate (a timerfd every ~50 µs) instead of in bursts of a node timer's granularity.
 *
 * Loopback keep-alive connections, one request in flight per connection, responses must carry
 * Content-Length. Modes:
 * - closed: `concurrency` connections, each sends its next request when the previous answer arrived;
 * - open: request k is due at t0 + k/rate whatever the answers; a due request waits for an idle
 *   connection when all are busy (up to `max_connections` are opened, lazily); its latency is measured
 *   from when it was DUE, so neither a slow server nor the generator can hide a stall.
 *
 * Usage: loadgen <host> <port> <closed|open> <concurrency> <rate> <warmup_ms> <duration_ms>
 *                <max_connections> <requests_file>
 * requests_file: the raw requests, each as a decimal byte length, '\n', then the bytes. Used round robin.
 * Output: one JSON line (the LoadResult of http-load-worker.ts) on stdout. Exit 2 on bad usage or I/O.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  char *data;
  size_t len;
} req_t;

typedef struct {
  int fd;
  int busy, broken;
  double started; /* due (open) or send (closed) time of the request in flight, ms */
  const req_t *req;
  size_t written;
  char *buf;
  size_t len, cap;
} conn_t;

static req_t *reqs;
static size_t nreqs, next_req;
static conn_t *conns;
static int nconns, max_conns, epfd;
static struct sockaddr_in addr;
static double t0, measure_from, end_at;
static double *lat;
static size_t nlat, lat_cap;
static long total, errors, non2xx, queued;
static int open_mode;
/* open mode: idle connection stack, due times waiting for a connection (ring) */
static int *free_stack, nfree;
static double *waiting;
static size_t wait_head, wait_tail, wait_cap;

static void die(const char *what) {
  perror(what);
  exit(2);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void load_requests(const char *file) {
  FILE *f = fopen(file, "rb");
  if (!f) die("requests file");
  size_t cap = 16;
  reqs = malloc(cap * sizeof *reqs);
  size_t n;
  while (fscanf(f, "%zu", &n) == 1) {
    if (fgetc(f) != '\n') break;
    if (nreqs == cap) reqs = realloc(reqs, (cap *= 2) * sizeof *reqs);
    reqs[nreqs].data = malloc(n);
    reqs[nreqs].len = n;
    if (fread(reqs[nreqs].data, 1, n, f) != n) die("requests file (short)");
    nreqs++;
  }
  fclose(f);
  if (nreqs == 0) {
    fprintf(stderr, "loadgen: no requests in %s\n", file);
    exit(2);
  }
}

/* Opens a connection in a free slot (a new one, or one whose connection was dropped); -1 when all are taken. */
static int open_conn(void) {
  int i = -1;
  for (int k = 0; k < nconns; k++)
    if (conns[k].broken) {
      i = k;
      break;
    }
  if (i < 0) {
    if (nconns == max_conns) return -1;
    i = nconns++;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("connect");
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  conn_t *c = &conns[i];
  memset(c, 0, sizeof *c);
  c->fd = fd;
  c->cap = 16384;
  c->buf = malloc(c->cap);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  return i;
}

static void record(int status, double started) {
  double t = now_ms();
  total++;
  if (started < measure_from || t > end_at) return;
  if (status == 0) errors++;
  else if (status < 200 || status >= 300) non2xx++;
  if (nlat == lat_cap) lat = realloc(lat, (lat_cap = lat_cap ? lat_cap * 2 : 65536) * sizeof *lat);
  lat[nlat++] = t - started;
}

/* The server closed the connection (an idle keep-alive one, say) or it failed: a request in flight is an error. */
static void drop(int i) {
  conn_t *c = &conns[i];
  if (c->broken) return;
  c->broken = 1;
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->buf);
  c->buf = NULL;
  if (c->busy) {
    c->busy = 0;
    record(0, c->started);
  }
}

static void flush_write(int i) {
  conn_t *c = &conns[i];
  if (c->broken) return;
  while (c->written < c->req->len) {
    ssize_t w = write(c->fd, c->req->data + c->written, c->req->len - c->written);
    if (w > 0) {
      c->written += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
      epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
      return;
    }
    drop(i);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void send_req(int i, double started) {
  conn_t *c = &conns[i];
  c->busy = 1;
  c->started = started;
  c->req = &reqs[next_req++ % nreqs];
  c->written = 0;
  flush_write(i);
}

/* A connection became idle (or broke): give it the next waiting request, or the next one (closed). */
static void after_answer(int i) {
  conn_t *c = &conns[i];
  if (c->broken) return;
  double t = now_ms();
  if (!open_mode) {
    if (t <= end_at) send_req(i, t);
    return;
  }
  if (wait_head != wait_tail) {
    double due = waiting[wait_head++ % wait_cap];
    send_req(i, due);
  } else {
    free_stack[nfree++] = i;
  }
}

static void finish_answer(int i, int status) {
  conn_t *c = &conns[i];
  c->busy = 0;
  record(status, c->started);
  after_answer(i);
}

static void on_readable(int i) {
  conn_t *c = &conns[i];
  if (c->broken) return;
  for (;;) {
    if (c->cap - c->len < 4096) c->buf = realloc(c->buf, c->cap *= 2);
    ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (r > 0) {
      c->len += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    drop(i); /* closed or failed */
    return;
  }
  while (c->busy) {
    char *head_end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!head_end) return;
    size_t head_len = (size_t)(head_end - c->buf);
    int status = c->len > 12 ? atoi(c->buf + 9) : 0;
    size_t body = 0;
    for (char *p = c->buf; p && p < head_end;) {
      char *line = memmem(p, (size_t)(head_end - p), "\r\n", 2);
      if (!line) break;
      line += 2;
      if ((size_t)(head_end - line) > 15 && strncasecmp(line, "content-length:", 15) == 0) body = strtoul(line + 15, NULL, 10);
      p = line;
    }
    size_t whole = head_len + 4 + body;
    if (c->len < whole) return;
    memmove(c->buf, c->buf + whole, c->len - whole);
    c->len -= whole;
    finish_answer(i, status);
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (nlat == 0) return 0;
  long i = (long)((p / 100.0) * (double)nlat + 0.999999999) - 1;
  if (i < 0) i = 0;
  if ((size_t)i >= nlat) i = (long)nlat - 1;
  return lat[i];
}

int main(int argc, char **argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: loadgen host port closed|open concurrency rate warmup_ms duration_ms max_connections requests_file\n");
    return 2;
  }
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, strcmp(argv[1], "localhost") == 0 ? "127.0.0.1" : argv[1], &addr.sin_addr) != 1) {
    fprintf(stderr, "loadgen: host must be a loopback address, got %s\n", argv[1]);
    return 2;
  }
  if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "loadgen: loopback only\n");
    return 2;
  }
  open_mode = strcmp(argv[3], "open") == 0;
  int concurrency = atoi(argv[4]);
  double rate = atof(argv[5]);
  double warmup = atof(argv[6]), duration = atof(argv[7]);
  max_conns = atoi(argv[8]);
  if (max_conns < concurrency) max_conns = concurrency;
  if (concurrency < 1 || (open_mode && rate <= 0)) {
    fprintf(stderr, "loadgen: concurrency >= 1 and (open) rate > 0 required\n");
    return 2;
  }
  load_requests(argv[9]);
  conns = calloc((size_t)max_conns, sizeof *conns);
  free_stack = malloc((size_t)max_conns * sizeof *free_stack);
  wait_cap = 1 << 20;
  waiting = malloc(wait_cap * sizeof *waiting);
  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");

  for (int k = 0; k < concurrency; k++) {
    int i = open_conn();
    if (open_mode) free_stack[nfree++] = i;
  }
  /* The timer: every 250 µs (open: finer costs more CPU than the requests in a VM) or 10 ms (closed: only to notice the end). */
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  if (tfd < 0) die("timerfd_create");
  long period_ns = open_mode ? 250000 : 10000000;
  struct itimerspec its = {.it_interval = {0, period_ns}, .it_value = {0, period_ns}};
  timerfd_settime(tfd, 0, &its, NULL);
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);

  t0 = now_ms();
  measure_from = t0 + warmup;
  end_at = measure_from + duration;
  double interval = open_mode ? 1000.0 / rate : 0;
  long scheduled = 0;
  if (!open_mode)
    for (int i = 0; i < nconns; i++) send_req(i, now_ms());

  struct epoll_event evs[256];
  double drain_until = 0;
  for (;;) {
    int n = epoll_wait(epfd, evs, 256, 5);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; k++) {
      uint32_t id = evs[k].data.u32;
      if (id == UINT32_MAX) {
        uint64_t ticks;
        if (read(tfd, &ticks, sizeof ticks) < 0) { /* spurious */ }
        continue;
      }
      if (evs[k].events & EPOLLOUT) flush_write((int)id);
      if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable((int)id);
    }
    double t = now_ms();
    if (t > end_at) {
      /* Let answers in flight arrive (they count in `total` only), then stop. */
      if (drain_until == 0) drain_until = t + 200;
      if (t > drain_until) break;
      continue;
    }
    if (open_mode) {
      long due = (long)((t - t0) / interval);
      while (scheduled < due) {
        double due_at = t0 + (double)(scheduled + 1) * interval;
        scheduled++;
        int i = -1;
        while (i < 0 && nfree > 0) {
          int k = free_stack[--nfree];
          if (!conns[k].broken) i = k;
        }
        if (i < 0) i = open_conn();
        if (i >= 0) send_req(i, due_at);
        else {
          queued++;
          if (wait_tail - wait_head == wait_cap) die("open loop: waiting queue full");
          waiting[wait_tail++ % wait_cap] = due_at;
        }
      }
    }
  }

  qsort(lat, nlat, sizeof *lat, cmp);
  double seconds = duration / 1000.0;
  printf("{\"completed\":%zu,\"total\":%ld,\"seconds\":%.3f,\"rps\":%ld,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
         "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"non2xx\":%ld,\"errors\":%ld,\"queued\":%ld}\n",
         nlat, total, seconds, (long)((double)nlat / seconds + 0.5), pct(50), pct(90), pct(99), pct(99.9),
         nlat ? lat[nlat - 1] : 0.0, non2xx, errors, queued);
  return 0;
}

#!/usr/bin/env bash
# Local Kafka, Redis and Postgres for integration tests and development, without Docker.
#
#   scripts/services.sh up [kafka|redis|postgres|registry ...]
#                               start whatever is not already answering (default: kafka, redis, postgres,
#                               plus the schema registry when TINYCDP_WITH_REGISTRY=1); print the URLs
#   scripts/services.sh down    stop only what `up` started (remembered in a state file)
#   scripts/services.sh status  what answers, and what `up` started
#   scripts/services.sh env     print the export lines only (for eval)
#
# `up` writes the URLs to <repo>/.cache/services.env too (`source` it, or eval "$(scripts/services.sh env)").
# Kafka comes from scripts/kafka.sh, the schema registry (Apicurio, Java 21+) from scripts/registry.sh — opt-in
# because its JVM start costs ~10 CPU-seconds and only the registry tests need it (the testkit starts it
# itself); Redis and Postgres from the machine's installed binaries: the system
# instance when it can be started, otherwise a private instance in <repo>/.cache/{redis,pg}-data.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"
STATE_DIR="${TINYCDP_SERVICES_DIR:-$REPO_DIR/.cache}"
STATE_FILE="$STATE_DIR/services.state"
ENV_FILE="$STATE_DIR/services.env"

HOST=127.0.0.1
KAFKA_PORT="${TINYCDP_KAFKA_PORT:-9092}" # exported on to kafka.sh
REDIS_PORT="${TINYCDP_REDIS_PORT:-6379}"
PG_PORT="${TINYCDP_PG_PORT:-5432}"
REGISTRY_PORT="${TINYCDP_REGISTRY_PORT:-8081}" # exported on to registry.sh
export TINYCDP_REGISTRY_PORT="$REGISTRY_PORT"
export TINYCDP_KAFKA_PORT="$KAFKA_PORT"
PG_DB=test

say() { echo "services: $*"; }
die() { echo "services: error: $*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

redis_ok() {
  (
    exec 3<>"/dev/tcp/$HOST/$REDIS_PORT" || exit 1
    printf 'PING\r\n' >&3
    reply=''
    read -r -t 2 reply <&3 || true
    [[ "$reply" == +PONG* ]]
  ) 2>/dev/null
}

pg_ok() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$HOST" -p "$PG_PORT" -t 2
  else
    port_open "$PG_PORT"
  fi
}

remember() { mkdir -p "$STATE_DIR"; grep -qxF "$1" "$STATE_FILE" 2>/dev/null || echo "$1" >>"$STATE_FILE"; }
started() { grep -qxF "$1" "$STATE_FILE" 2>/dev/null; }

wait_until() { # wait_until <seconds> <cmd...>
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

pg_bin_dir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$d" ]] && echo "$d" && return 0
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

# ---- Kafka --------------------------------------------------------------------------------------
kafka_up() {
  if port_open "$KAFKA_PORT"; then
    say "kafka    already answering on $HOST:$KAFKA_PORT"
    return 0
  fi
  "$SCRIPT_DIR/kafka.sh" start 8>&-
  remember "kafka script"
}

# ---- Schema registry ----------------------------------------------------------------------------
registry_foreign() { # a registry answering that registry.sh did not start
  (
    exec 3<>"/dev/tcp/$HOST/$REGISTRY_PORT" || exit 1
    printf 'GET /apis/ccompat/v7/subjects HTTP/1.0\r\nHost: %s\r\n\r\n' "$HOST" >&3
    read -r -t 5 _ status _ <&3 && [[ "$status" == 200 ]] && echo yes
  ) 2>/dev/null || true
}

registry_up() {
  "$SCRIPT_DIR/registry.sh" start 8>&- | sed 's/^/services: /'
  [[ "${PIPESTATUS[0]}" == 0 ]] || die "schema registry did not start (scripts/registry.sh logs)"
  remember "registry script"
}

# ---- Redis --------------------------------------------------------------------------------------
redis_up() {
  if redis_ok; then
    say "redis    already answering on $HOST:$REDIS_PORT"
    return 0
  fi
  command -v redis-server >/dev/null 2>&1 || die "Redis is not running on $HOST:$REDIS_PORT and redis-server is not installed (apt-get install redis-server)"
  # The machine's instance first (same command the image documents), then a private one in our data dir.
  if [[ -w /var/lib/redis && -d /var/log/redis ]] \
    && redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1 8>&- \
    && wait_until 10 redis_ok; then
    remember "redis system"
    say "redis    started (system binary, /var/lib/redis) on $HOST:$REDIS_PORT"
    return 0
  fi
  local dir="$STATE_DIR/redis-data"
  mkdir -p "$dir"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" >/dev/null 8>&- \
    || die "could not start redis-server (see $dir/redis.log)"
  wait_until 10 redis_ok || die "redis-server started but does not answer PING (see $dir/redis.log)"
  remember "redis private"
  say "redis    started (private, $dir) on $HOST:$REDIS_PORT"
}

redis_down() {
  if redis_ok; then
    if command -v redis-cli >/dev/null 2>&1; then
      redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    else
      (exec 3<>"/dev/tcp/$HOST/$REDIS_PORT" && printf 'SHUTDOWN NOSAVE\r\n' >&3) 2>/dev/null || true
    fi
    wait_until 10 bash -c "! (exec 3<>/dev/tcp/$HOST/$REDIS_PORT) 2>/dev/null" || say "redis still answering after shutdown"
  fi
  say "redis    stopped"
}

# ---- Postgres -----------------------------------------------------------------------------------
PG_USER=''
pg_user() { # the first of postgres / current user that can connect (memoized in PG_USER by pg_ensure_db)
  local u
  [[ -n "$PG_USER" ]] && echo "$PG_USER" && return 0
  for u in postgres "$(id -un)"; do
    if psql -h "$HOST" -p "$PG_PORT" -U "$u" -d postgres -Atqc 'select 1' >/dev/null 2>&1; then echo "$u"; return 0; fi
  done
  return 1
}

pg_ensure_db() {
  command -v psql >/dev/null 2>&1 || return 0
  local u
  u="$(pg_user)" || die "Postgres answers on $HOST:$PG_PORT but neither user postgres nor $(id -un) can connect (trust auth expected)"
  PG_USER="$u"
  if [[ "$(psql -h "$HOST" -p "$PG_PORT" -U "$u" -d postgres -Atqc "select 1 from pg_database where datname = '$PG_DB'")" != 1 ]]; then
    psql -h "$HOST" -p "$PG_PORT" -U "$u" -d postgres -qc "create database $PG_DB" >/dev/null
    say "postgres created database $PG_DB"
  fi
}

pg_up() {
  if pg_ok; then
    say "postgres already answering on $HOST:$PG_PORT"
    pg_ensure_db
    return 0
  fi
  local ver
  ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$ver" && "$PG_PORT" == 5432 ]] && command -v pg_ctlcluster >/dev/null 2>&1 \
    && pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 8>&- \
    && wait_until 20 pg_ok; then
    remember "postgres system $ver"
    say "postgres started (system cluster $ver/main) on $HOST:$PG_PORT"
    pg_ensure_db
    return 0
  fi
  # Private cluster. initdb refuses to run as root, so root runs it as the postgres user.
  local bin dir="$STATE_DIR/pg-data" as=()
  bin="$(pg_bin_dir)" || die "Postgres is not running on $HOST:$PG_PORT and no server binaries were found (apt-get install postgresql)"
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1 \
      || die "Postgres is not running on $HOST:$PG_PORT; as root a private cluster needs the postgres user and runuser"
    as=(runuser -u postgres --)
    mkdir -p "$dir" && chown postgres "$dir" && chmod 700 "$dir"
  fi
  if [[ ! -f "$dir/PG_VERSION" ]]; then
    "${as[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >"$STATE_DIR/pg-initdb.log" 2>&1 8>&- \
      || die "initdb failed (see $STATE_DIR/pg-initdb.log)"
  fi
  "${as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/postgres.log" -w -t 30 \
    -o "-p $PG_PORT -c listen_addresses=$HOST -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null 8>&- \
    || die "private Postgres did not start (see $dir/postgres.log)"
  remember "postgres private $dir"
  say "postgres started (private, $dir) on $HOST:$PG_PORT"
  pg_ensure_db
}

pg_down() {
  local line kind arg
  line="$(grep '^postgres ' "$STATE_FILE")"
  read -r _ kind arg <<<"$line"
  case "$kind" in
    system) pg_ctlcluster --skip-systemctl-redirect "$arg" main stop -m fast >/dev/null 2>&1 || true ;;
    private)
      local as=()
      [[ "$(id -u)" == 0 ]] && as=(runuser -u postgres --)
      "${as[@]}" "$(pg_bin_dir)/pg_ctl" -D "$arg" -m fast -w stop >/dev/null 2>&1 || true
      ;;
  esac
  say "postgres stopped"
}

# ---- commands -----------------------------------------------------------------------------------
env_lines() {
  local u="${PG_USER:-postgres}"
  if [[ -z "$PG_USER" ]] && command -v psql >/dev/null 2>&1 && pg_ok; then u="$(pg_user || echo postgres)"; fi
  echo "export KAFKA_BROKERS=$HOST:$KAFKA_PORT"
  echo "export REDIS_URL=redis://$HOST:$REDIS_PORT"
  echo "export DATABASE_URL=postgres://$u@$HOST:$PG_PORT/$PG_DB"
  # Only when this `up` was asked for the registry: an exported SCHEMA_REGISTRY_URL switches services to the wire format.
  if [[ "${WANT_REGISTRY:-0}" == 1 ]]; then
    echo "export SCHEMA_REGISTRY_URL=http://$HOST:$REGISTRY_PORT/apis/ccompat/v7"
  fi
}

cmd_up() { # cmd_up [kafka] [redis] [postgres] [registry]  (default: the first three, + registry if TINYCDP_WITH_REGISTRY=1)
  local want=("$@")
  if ((${#want[@]} == 0)); then
    want=(kafka redis postgres)
    [[ "${TINYCDP_WITH_REGISTRY:-0}" == 1 ]] && want+=(registry)
  fi
  mkdir -p "$STATE_DIR"
  local s
  for s in "${want[@]}"; do
    case "$s" in
      kafka) kafka_up ;;
      redis) redis_up ;;
      postgres) pg_up ;;
      registry) registry_up; WANT_REGISTRY=1 ;;
      *) die "unknown service '$s' (kafka, redis, postgres, registry)" ;;
    esac
  done
  env_lines >"$ENV_FILE"
  say "ready; export these (or: source $ENV_FILE):"
  cat "$ENV_FILE"
}

cmd_down() {
  if [[ ! -s "$STATE_FILE" ]]; then
    say "nothing was started by 'up'; leaving running services alone"
    return 0
  fi
  started "kafka script" && "$SCRIPT_DIR/kafka.sh" stop
  started "registry script" && "$SCRIPT_DIR/registry.sh" stop
  if started "redis system" || started "redis private"; then redis_down; fi
  grep -q '^postgres ' "$STATE_FILE" && pg_down
  rm -f "$STATE_FILE"
}

cmd_status() {
  local s
  s="$(port_open "$KAFKA_PORT" && echo answering || echo down)"; say "kafka    $HOST:$KAFKA_PORT $s"
  s="$(redis_ok && echo answering || echo down)"; say "redis    $HOST:$REDIS_PORT $s"
  s="$(pg_ok && echo answering || echo down)"; say "postgres $HOST:$PG_PORT $s"
  s="$([[ -n "$(registry_foreign)" ]] && echo answering || echo down)"; say "registry $HOST:$REGISTRY_PORT $s"
  if [[ -s "$STATE_FILE" ]]; then
    say "started by 'up': $(tr '\n' ';' <"$STATE_FILE")"
  else
    say "started by 'up': nothing"
  fi
}

# One up/down at a time (a CI trap may race a manual run). Daemons we start get `8>&-` so they never hold it.
mkdir -p "$STATE_DIR"
exec 8>"$STATE_DIR/services.lock"
flock -w 300 8 || die "timed out waiting for $STATE_DIR/services.lock"

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) env_lines ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac

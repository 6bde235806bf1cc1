#!/usr/bin/env bash
# Side-by-side comparison of two builds of streamrec on the same machine in the same run:
# the core bench table (streamrec-bench) and a prequential replay of a log, alternating A and B
# so load drifts hit both. Usage:
#   bench/ab-compare.sh DIR_A DIR_B LOG [ROUNDS]
# DIR_* are release build folders holding `streamrec` and `streamrec-bench` (e.g. .build/release of
# two worktrees at two commits). Prints each run's table rows and replay line, then the load average.
set -euo pipefail
A="$1"; B="$2"; LOG="$3"; ROUNDS="${4:-2}"
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

#!/usr/bin/env bash
# Accuracy / diversity / fairness trade-off of ε-greedy exploration and MMR λ on one log: one `replay`
# per setting (report JSON per run), plus an off-policy check: lists logged with ε = 0.1 evaluate the
# greedy policy and MMR λ = 0.7, whose replayed recall is the truth.
# Usage: bench/evaluation/tradeoff-sweep.sh <log> <out-dir> [extra replay flags...]
# Binary: STREAMREC_BIN, else this tree's release build (bench/lib.sh builds it when stale).
set -euo pipefail
BENCH_NAME=tradeoff-sweep
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
log=${1:?event log}
out=${2:?output directory}
shift 2
bin="$(streamrec_bin)"
mkdir -p "$out"
run() { # name, flags...
  local name=$1; shift
  "$bin" replay "$log" --quiet --report "$out/$name.json" "$@" > "$out/$name.txt" 2> "$out/$name.log"
  echo "$name: $(grep '^| mf' "$out/$name.txt")" >&2
}
for eps in 0 0.02 0.05 0.1 0.2 0.3; do run "eps-$eps" --epsilon "$eps" "$@"; done
for lam in 0.9 0.8 0.7 0.5 0.3; do run "mmr-$lam" --mmr-lambda "$lam" "$@"; done
# Off-policy: lists logged with ε = 0.1, targets = greedy (ε = 0) and MMR λ = 0.7.
"$bin" replay "$log" --quiet --no-diversity --auc-samples 0 --epsilon 0.1 --lists-out "$out/logged-eps-0.1.jsonl" "$@" > /dev/null 2>&1
for target in "greedy:--epsilon 0" "mmr-0.7:--mmr-lambda 0.7"; do
  name=${target%%:*}
  # shellcheck disable=SC2086
  "$bin" replay "$log" --quiet --no-diversity --auc-samples 0 ${target#*:} --lists-out "$out/target-$name.jsonl" "$@" > /dev/null 2>&1
  "$bin" evaluate-policy --lists "$out/logged-eps-0.1.jsonl" --target "$out/target-$name.jsonl" --events "$log" \
    --report "$out/ope-$name.json" > "$out/ope-$name.txt" 2> "$out/ope-$name.log"
  cat "$out/ope-$name.txt" >&2
done
rm -f "$out"/*.jsonl

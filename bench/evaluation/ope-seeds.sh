#!/usr/bin/env bash
# Off-policy estimate vs replayed truth over several model seeds: lists logged with ε-greedy MF, target =
# MF with MMR λ (or any replay flags). Prints one line per seed: truth (the target's replayed recall)
# and each estimator's value and 95% interval.
# Usage: bench/evaluation/ope-seeds.sh <log> <epsilon> "<target replay flags>" <seed>...
# Binary: STREAMREC_BIN, else this tree's release build (bench/lib.sh builds it when stale).
set -euo pipefail
BENCH_NAME=ope-seeds
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
log=${1:?log}; eps=${2:?epsilon}; target=${3:?target flags}; shift 3
bin="$(streamrec_bin)"
tmp=$(mktemp -d)
on_exit 'rm -rf "$tmp"'
for seed in "$@"; do
  "$bin" replay "$log" --quiet --no-diversity --auc-samples 0 --seed "$seed" --epsilon "$eps" --lists-out "$tmp/logged.jsonl" > /dev/null 2>&1
  # shellcheck disable=SC2086
  "$bin" replay "$log" --quiet --no-diversity --auc-samples 0 --seed "$seed" $target --lists-out "$tmp/target.jsonl" \
    --report "$tmp/target.json" > /dev/null 2>&1
  truth=$(python3 -c "import json,sys; print('%.4f' % json.load(open(sys.argv[1]))['reports'][0]['recall'])" "$tmp/target.json")
  "$bin" evaluate-policy --lists "$tmp/logged.jsonl" --target "$tmp/target.jsonl" --events "$log" --report "$tmp/ope.json" > /dev/null 2>&1
  python3 - "$tmp/ope.json" "$seed" "$truth" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); truth = float(sys.argv[3])
cells = [f"{e['estimator']} {e['value']:.4f} [{e['lower']:.4f}, {e['upper']:.4f}]{'' if e['lower'] <= truth <= e['upper'] else ' MISS'}" for e in r["estimates"]]
print(f"seed {sys.argv[2]}: truth {truth:.4f} | " + " | ".join(cells) + f" | ESS {r['effectiveSampleSize']:.0f}/{r['stats']['used']}")
PY
done

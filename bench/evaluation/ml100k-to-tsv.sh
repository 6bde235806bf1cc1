#!/usr/bin/env bash
# Converts RecBole's MovieLens 100K atomic file (ml-100k.inter: a header line, then
# user<TAB>item<TAB>rating<TAB>timestamp-seconds) into the u.data layout `replay` reads (.tsv, no header).
# Usage: bench/evaluation/ml100k-to-tsv.sh /work/ml100k/ml-100k.inter /tmp/ml100k.tsv
set -euo pipefail
in=${1:?input .inter file}
out=${2:?output .tsv file}
head -n 1 "$in" | grep -q 'user_id' || { echo "no .inter header in $in" >&2; exit 1; }
tail -n +2 "$in" > "$out"
echo "wrote $(wc -l < "$out") events to $out" >&2

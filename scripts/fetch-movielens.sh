#!/usr/bin/env bash
# Fetches MovieLens 100K as RecBole ships it inside its PyPI wheel (recbole 1.2.1) and extracts
# ml-100k.inter (tab-separated: user_id:token item_id:token rating:float timestamp:float, seconds) into
# data/ (gitignored). `streamrec replay data/ml-100k.inter` reads it directly.
#
#   bash scripts/fetch-movielens.sh [out-dir]      # default: data
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-data}"
wheel_sha256=9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407
inter_sha256=4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff

mkdir -p "$out"
if [ -s "$out/ml-100k.inter" ] && echo "$inter_sha256  $out/ml-100k.inter" | sha256sum -c --quiet 2>/dev/null; then
    echo "$out/ml-100k.inter is already there"
    exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --quiet --disable-pip-version-check recbole==1.2.1 -d "$tmp"
wheel="$tmp/recbole-1.2.1-py3-none-any.whl"
echo "$wheel_sha256  $wheel" | sha256sum -c --quiet || { echo "recbole wheel checksum mismatch" >&2; exit 1; }
python3 - "$wheel" "$out/ml-100k.inter" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("recbole/dataset_example/ml-100k/ml-100k.inter") as src, \
        open(sys.argv[2] + ".tmp", "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
echo "$inter_sha256  $out/ml-100k.inter.tmp" | sha256sum -c --quiet || { echo "ml-100k.inter checksum mismatch" >&2; exit 1; }
mv "$out/ml-100k.inter.tmp" "$out/ml-100k.inter"
echo "wrote $out/ml-100k.inter ($(($(wc -l < "$out/ml-100k.inter") - 1)) ratings)"

#!/usr/bin/env bash
# Checks the live view end to end: starts `streamrec http-demo` (a learner replaying a generated log,
# no Kafka) on a free loopback port, loads http://127.0.0.1:PORT/ in headless Chromium, and checks that
# the page rendered data from /stats: sample count, plotted polyline points and "last value" texts.
# Leaves the DOM dump and a screenshot in $OUT (default: out/live-view/) to look at.
#
# Usage: scripts/check-live-view.sh            (builds debug if needed; STREAMREC_BIN overrides the binary)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-out/live-view}
BIN=${STREAMREC_BIN:-.build/debug/streamrec}
mkdir -p "$OUT"

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing chromium (Debian package)…" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [[ ! -x "$BIN" ]]; then
    swift build --product streamrec
fi

LOG="$OUT/demo-log.jsonl"
[[ -f "$LOG" ]] || "$BIN" generate --out "$LOG" --users 2000 --items 1000 --events 80000 --seed 7

DEMO_PID=""
cleanup() { [[ -n "$DEMO_PID" ]] && kill "$DEMO_PID" 2>/dev/null && wait "$DEMO_PID" 2>/dev/null; true; }
trap cleanup EXIT

"$BIN" http-demo --log "$LOG" --port 0 --warmup 0.5 --rate 1500 --max-lag 20000 \
    >"$OUT/demo.stdout" 2>"$OUT/demo.stderr" &
DEMO_PID=$!

URL=""
for _ in $(seq 1 120); do
    URL=$(grep -o 'http://127.0.0.1:[0-9]*/' "$OUT/demo.stdout" || true)
    [[ -n "$URL" ]] && break
    kill -0 "$DEMO_PID" 2>/dev/null || { echo "http-demo exited:" >&2; cat "$OUT/demo.stderr" >&2; exit 1; }
    sleep 0.5
done
[[ -n "$URL" ]] || { echo "http-demo did not start listening" >&2; exit 1; }
echo "live view at $URL"
curl -fsS "${URL}healthz" >/dev/null

# Let a few one-second samples accumulate so the charts have lines, not points.
sleep 6

CHROME=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=5000)
"${CHROME[@]}" --dump-dom "$URL" >"$OUT/dom.html" 2>"$OUT/chromium.log"
"${CHROME[@]}" --window-size=1280,720 --screenshot="$OUT/live-view.png" "$URL" >>"$OUT/chromium.log" 2>&1

fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }
samples=$(grep -o 'data-samples="[0-9]*"' "$OUT/dom.html" | grep -o '[0-9]*' || echo 0)
check "stats polled: $samples samples" '[[ $samples -ge 3 ]]'
for series in eps lag recall; do
    points=$(grep -o "<polyline id=\"line-$series\"[^>]*" "$OUT/dom.html" | grep -o 'points="[^"]*"' | tr ' ' '\n' | grep -c ',' || true)
    check "line-$series has $points plotted points" '[[ $points -ge 2 ]]'
    last=$(grep -o "id=\"last-$series\">[^<]*<" "$OUT/dom.html" | sed 's/.*>\(.*\)</\1/' || true)
    check "last-$series shows a value ($last)" '[[ "$last" =~ ^[0-9] ]]'
done
check "screenshot written" '[[ -s "$OUT/live-view.png" ]]'
if [[ $fail -ne 0 ]]; then echo "live view check FAILED (see $OUT/)" >&2; exit 1; fi
echo "live view check passed; screenshot: $OUT/live-view.png"

#!/usr/bin/env bash
# HTTP query benchmark: `streamrec http-demo` (release build) serves the operations API on 127.0.0.1
# while its learner keeps learning a generated log in the background at --rate events/s; wrk, a second
# local process, drives each endpoint for a fixed duration and connection count. Prints a markdown
# table (requests/s, p50, p99, errors) plus the events the learner applied during each run.
#
# Usage: bench/http-bench.sh   (env: DURATION=10s CONNECTIONS=16 THREADS=1 RATE=5000 STREAMREC_BIN=…;
# default binary: this tree's release build). Loopback only; every run is bounded by DURATION and the
# server is stopped at the end.
set -euo pipefail
BENCH_NAME=http
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BENCH_ROOT"

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
RATE=${RATE:-5000}
USERS=${USERS:-20000}
ITEMS=${ITEMS:-20000}
EVENTS=${EVENTS:-400000}
OUT=${OUT:-out/http-bench}
mkdir -p "$OUT"

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
BIN="$(streamrec_bin)"

LOG="$OUT/log-$USERS-$ITEMS-$EVENTS.jsonl"
[[ -f "$LOG" ]] || "$BIN" generate --out "$LOG" --users "$USERS" --items "$ITEMS" --events "$EVENTS" --seed 11

DEMO_PID=""
on_exit '[[ -n "$DEMO_PID" ]] && kill "$DEMO_PID" 2>/dev/null && wait "$DEMO_PID" 2>/dev/null'
STREAMREC_LOG_LEVEL=warning "$BIN" http-demo --log "$LOG" --port 0 --warmup 0.5 --rate "$RATE" \
    >"$OUT/demo.stdout" 2>"$OUT/demo.stderr" &
DEMO_PID=$!
URL=""
for _ in $(seq 1 240); do
    URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$OUT/demo.stdout" || true)
    [[ -n "$URL" ]] && break
    kill -0 "$DEMO_PID" 2>/dev/null || { cat "$OUT/demo.stderr" >&2; exit 1; }
    sleep 0.5
done
[[ -n "$URL" ]] || { echo "http-demo did not start" >&2; exit 1; }

learned() { curl -fsS "$URL/stats" | grep -o '"eventsLearned":[0-9]*' | cut -d: -f2; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)"
echo "server: $BIN http-demo, $USERS users / $ITEMS items, learning at $RATE events/s; wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
echo
echo "| endpoint | requests/s | p50 | p99 | non-2xx | events learned during run |"
echo "|---|---:|---:|---:|---:|---:|"
for target in recommendations similar healthz; do
    before=$(learned)
    BENCH_TARGET=$target BENCH_USERS=$USERS BENCH_ITEMS=$ITEMS \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/http-bench.lua "$URL" >"$OUT/wrk-$target.txt"
    after=$(learned)
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$OUT/wrk-$target.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$OUT/wrk-$target.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$OUT/wrk-$target.txt")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$OUT/wrk-$target.txt")
    case $target in
        recommendations) path="GET /users/{id}/recommendations?k=10" ;;
        similar) path="GET /items/{id}/similar?k=10" ;;
        healthz) path="GET /healthz" ;;
    esac
    echo "| \`$path\` | ${rps%.*} | $p50 | $p99 | ${non2xx:-0} | $((after - before)) |"
done

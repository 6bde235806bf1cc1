#!/usr/bin/env bash
# Flood of all-new user and item ids against `streamrec serve`: samples the process RSS as the flood is
# consumed, once with small caps (max_users / max_items) and once with the defaults (1M / 1M), so the
# plateau at the caps can be compared with unbounded-looking growth below them. Loopback only, private
# broker, bounded (fixed event count, every wait has a timeout).
#
# Usage: bench/id-flood.sh   Env: STREAMREC_BIN (default: this tree's release build), FLOOD_EVENTS
#        (60000), FLOOD_USERS_CAP (5000), FLOOD_ITEMS_CAP (2000), BENCH_KAFKA_PORT (default: a free
#        port), FLOOD_HTTP_PORT (18594), FLOOD_DIR (/tmp/streamrec-flood)
set -uo pipefail
BENCH_NAME=id-flood
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BENCH_ROOT"
BIN="$(streamrec_bin)" || exit 1
N="${FLOOD_EVENTS:-60000}"; UCAP="${FLOOD_USERS_CAP:-5000}"; ICAP="${FLOOD_ITEMS_CAP:-2000}"
HPORT="${FLOOD_HTTP_PORT:-18594}"; DIR="${FLOOD_DIR:-/tmp/streamrec-flood}"
PID=""
rm -rf "$DIR"; mkdir -p "$DIR"
start_private_broker "$DIR/broker"
B="$BROKERS"
on_exit '[ -n "$PID" ] && kill -9 $PID 2>/dev/null'
now=$(($(date +%s) * 1000 - N))
python3 -c "
import json,sys
for i in range($N): print(json.dumps({'user':'flood-u%d'%i,'item':'flood-i%d'%i,'ts':$now+i}))" >"$DIR/flood.jsonl"
run() {  # run LABEL TOPIC [config]
  local label="$1" topic="$2"; shift 2
  "$BIN" produce "$DIR/flood.jsonl" --topic "$topic" --brokers "$B" 2>/dev/null
  "$BIN" serve --brokers "$B" --topics "$topic" --recommendations-topic "$topic-recs" --dead-letter-topic "$topic-dlq" \
    --group "$topic" --instance-id "$topic-0" --snapshot-dir "$DIR/snap-$topic" --http-port "$HPORT" --log-level warning "$@" \
    >"$DIR/$topic.log" 2>&1 &
  PID=$!
  local line="$label:" next=$((N / 6)) deadline=$((SECONDS + 900))
  while [ $SECONDS -lt $deadline ] && kill -0 $PID 2>/dev/null; do
    local c; c=$(curl -s -m 2 "http://127.0.0.1:$HPORT/stats" | python3 -c "import sys,json; print(json.load(sys.stdin)['status']['eventsConsumed'])" 2>/dev/null || echo 0)
    if [ "${c:-0}" -ge $next ]; then
      line="$line $(printf '%6d ev → %4d MiB' "$c" $(( $(awk '/VmRSS/ {print $2}' /proc/$PID/status) / 1024 )));"
      [ $next -ge $N ] && break
      next=$((next + N / 6))
    fi
    sleep 0.2
  done
  kill -TERM $PID; wait $PID 2>/dev/null; PID=""
  echo "$line"
}
printf 'model:\n  max_users: %d\n  max_items: %d\n' "$UCAP" "$ICAP" >"$DIR/capped.yaml"
echo "id flood: $N events, every user and item id new; RSS of serve as the flood is consumed ($BIN)"
run "caps $UCAP users / $ICAP items" capped --config "$DIR/capped.yaml"
run "default caps (1M / 1M)     " defaults

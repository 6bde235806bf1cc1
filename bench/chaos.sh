#!/usr/bin/env bash
# Chaos run against `streamrec serve`: kill -9, broker restarts, a full and a read-only snapshot disk,
# two learners on one directory, and hostile input (Kafka messages and HTTP requests).
#
# Loopback only (a private broker on 127.0.0.1, HTTP on 127.0.0.1). Bounded: every case has a fixed
# count and every wait a timeout; the whole run takes a few minutes. Needs root for the tmpfs mounts of
# the disk cases (skipped otherwise).
#
# For each case it prints: tries, survived (serve alive or cleanly restarted, as the case expects),
# events lost and events doubled (valid events produced vs. events in the final snapshot's counters;
# the learner counts every applied event exactly once, so any difference is a loss or a double).
#
# Usage: bench/chaos.sh
# Env:   STREAMREC_BIN (default: this tree's release build), BENCH_KAFKA_PORT (default: a free port),
#        CHAOS_HTTP_PORT (18593), CHAOS_DIR (/tmp/streamrec-chaos), CHAOS_EVENTS (20000), CHAOS_KILLS (5),
#        CHAOS_SEED (7)
set -uo pipefail
BENCH_NAME=chaos
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BENCH_ROOT"
BIN="$(streamrec_bin)" || exit 1
HPORT="${CHAOS_HTTP_PORT:-18593}"
DIR="${CHAOS_DIR:-/tmp/streamrec-chaos}"
EVENTS="${CHAOS_EVENTS:-20000}"
KILLS="${CHAOS_KILLS:-5}"
SEED="${CHAOS_SEED:-7}"
RESULTS=()
SERVE_PID=""

log() { echo "[chaos] $*" >&2; }
on_exit 'for m in "$DIR"/mnt-*; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done'

json() { python3 -c "import sys,json; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1" 2>/dev/null; }
stats() { curl -s -m 2 "http://127.0.0.1:$HPORT/stats"; }
consumed() { stats | json 'd["status"]["eventsConsumed"]' || echo -1; }
position() { stats | json 'sum(p["position"] for p in d["status"]["partitions"])' || echo -1; }
ready_code() { curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$HPORT/readyz"; }
# snapshot_unready: /readyz is 503 because of the snapshot check (not lag or the broker).
snapshot_unready() { curl -s -m 2 "http://127.0.0.1:$HPORT/readyz" | grep -q '"failing":\[[^]]*snapshot_durable'; }

# serve NAME SNAPDIR [extra args...]: starts serve in the background on topic NAME (group NAME).
serve() {
  local name="$1" snaps="$2"; shift 2
  "$BIN" serve --brokers "$B" --topics "$name" --recommendations-topic "$name-recs" --dead-letter-topic "$name-dlq" \
    --group "$name" --instance-id "$name-0" --snapshot-dir "$snaps" --snapshot-every 3000 --http-port "$HPORT" \
    --log-level warning "$@" >>"$DIR/$name.log" 2>&1 &
  SERVE_PID=$!
}
# wait_position N SECONDS: until serve's position reaches N (or timeout); 0 if reached.
wait_position() {
  local n="$1" deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(position)" -ge "$n" ] 2>/dev/null && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || return 1
    sleep 0.3
  done
  return 1
}
# stop_serve: SIGTERM, bounded wait; sets STOP_RC to the exit status (called directly, never in $(…):
# only the shell that started serve can `wait` for it).
stop_serve() {
  kill -TERM "$SERVE_PID" 2>/dev/null
  local deadline=$((SECONDS + 90))
  while kill -0 "$SERVE_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$SERVE_PID" 2>/dev/null; then kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; STOP_RC=137
  else wait "$SERVE_PID" 2>/dev/null; STOP_RC=$?; fi
  SERVE_PID=""
}
# learned SNAPDIR: events counter of the newest good snapshot.
learned() {
  local newest; newest="$(ls "$1"/snapshot-*.srsnap 2>/dev/null | sort | tail -n1)"
  [ -n "$newest" ] || { echo 0; return; }
  "$BIN" snapshot inspect "$newest" | sed -n 's/.*counters *events \([0-9]*\),.*/\1/p'
}
# record CASE TRIES SURVIVED EXPECTED LEARNED
record() {
  local lost=$(( $4 > $5 ? $4 - $5 : 0 )) doubled=$(( $5 > $4 ? $5 - $4 : 0 ))
  RESULTS+=("$(printf '%-28s %6s %9s %12s %15s' "$1" "$2" "$3" "$lost" "$doubled")")
  log "$1: tries $2, survived $3, expected $4 events, learned $5"
}
produce() { "$BIN" produce "$DIR/events.jsonl" --topic "$1" --brokers "$B" >/dev/null 2>>"$DIR/produce.log"; }

rm -rf "$DIR"; mkdir -p "$DIR"
start_private_broker "$DIR/broker"
B="$BROKERS"
on_exit '[ -n "$SERVE_PID" ] && kill -9 "$SERVE_PID" 2>/dev/null'
log "binary $BIN, broker $B, $EVENTS events per case"
"$BIN" generate -o "$DIR/events.jsonl" --users 2000 --items 1000 --events "$EVENTS" --seed "$SEED" 2>/dev/null

# 1. kill -9 at random points, restart each time.
case_kill9() {
  local t=kill9 s="$DIR/snap-kill9" survived=0
  produce $t; serve $t "$s"
  for i in $(seq 1 "$KILLS"); do
    sleep "$(python3 -c "import random; random.seed($SEED+$i); print(round(random.uniform(0.5, 2.5), 2))")"
    kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; serve $t "$s"
    sleep 1; kill -0 "$SERVE_PID" 2>/dev/null && survived=$((survived + 1))
  done
  wait_position "$EVENTS" 300
  stop_serve; [ "$STOP_RC" = 0 ] || { log "serve exited $STOP_RC"; survived=$((survived - 1)); }
  record "kill -9 + restart" "$KILLS" "$survived" "$EVENTS" "$(learned "$s")"
}

# 2. broker stopped for 5 s, twice, while the learner is busy.
case_broker() {
  local t=brokerbounce s="$DIR/snap-broker" survived=0 tries=2
  produce $t; serve $t "$s"
  for i in 1 2; do
    sleep 1.5; kill -9 "$(broker_pid)"; sleep 5; broker start
    kill -0 "$SERVE_PID" 2>/dev/null && survived=$((survived + 1))
  done
  wait_position "$EVENTS" 300 || survived=$((survived - 1))
  stop_serve; [ "$STOP_RC" = 0 ] || { log "serve exited $STOP_RC"; survived=$((survived - 1)); }
  [ $survived -lt 0 ] && survived=0
  record "broker restart (busy)" "$tries" "$survived" "$EVENTS" "$(learned "$s")"
}

# 3/4. snapshot disk full, then read-only: serve must keep running, report not-ready, and recover.
case_disk() {
  local kind="$1" t="disk$1" m="$DIR/mnt-$1" survived=0 notready=0
  mkdir -p "$m"
  if ! mount -t tmpfs -o size=64m tmpfs "$m" 2>/dev/null; then log "cannot mount tmpfs: skipping $kind"; return; fi
  local cfg="$DIR/$t.yaml"
  printf 'snapshots:\n  max_unsaved_seconds: 2.0\n  every_seconds: 1.0\n' >"$cfg"
  produce $t; serve $t "$m/snaps" --config "$cfg"
  sleep 2
  if [ "$kind" = full ]; then
    dd if=/dev/zero of="$m/filler" bs=1M count=64 2>/dev/null  # fills the tmpfs
  else
    # A read-only file system mounted over the snapshot directory (remounting the tmpfs itself read-only
    # is refused while serve holds its lock file open for writing).
    mount -t tmpfs -o ro,size=1m tmpfs "$m/snaps"
  fi
  for _ in $(seq 1 60); do snapshot_unready && { notready=1; break; }; sleep 0.5; done
  kill -0 "$SERVE_PID" 2>/dev/null && survived=1
  if [ "$kind" = full ]; then rm -f "$m/filler"; else umount "$m/snaps"; fi
  wait_position "$EVENTS" 300 || survived=0
  sleep 3  # a snapshot succeeds after the backoff
  stop_serve; [ "$STOP_RC" = 0 ] || { log "serve exited $STOP_RC"; survived=0; }
  [ $notready = 1 ] || log "$kind: /readyz never reported the snapshot failure"
  [ $notready = 1 ] || survived=0
  record "disk $kind, readyz 503: $notready" 1 "$survived" "$EVENTS" "$(learned "$m/snaps")"
  umount -l "$m"
}

# 5. a second learner on the same snapshot directory must refuse to start; the first keeps going.
case_shared_dir() {
  local t=shareddir s="$DIR/snap-shared" survived=0
  produce $t; serve $t "$s"; local first=$SERVE_PID
  sleep 1
  "$BIN" serve --brokers "$B" --topics other --group other --instance-id other-0 --snapshot-dir "$s" --http-port 0 \
    >"$DIR/second.log" 2>&1 &
  local second=$!
  local deadline=$((SECONDS + 30)); while kill -0 $second 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if ! kill -0 $second 2>/dev/null && grep -q "in use by another streamrec process" "$DIR/second.log"; then survived=1; else kill -9 $second 2>/dev/null; fi
  SERVE_PID=$first
  wait_position "$EVENTS" 300 || survived=0
  stop_serve; [ "$STOP_RC" = 0 ] || { log "serve exited $STOP_RC"; survived=0; }
  record "second learner, same dir" 1 "$survived" "$EVENTS" "$(learned "$s")"
}

# 6. hostile input: bad Kafka messages mixed into the stream, and hostile HTTP requests.
case_hostile() {
  local t=hostile s="$DIR/snap-hostile" survived=0 bad=0
  produce $t
  local now_ms; now_ms=$(($(date +%s) * 1000))
  {
    echo '{not json'; echo '[]'; echo '{}'; echo '{"user":"u1"}'; echo '{"user":"u1","item":"i1"}'
    echo '{"user":"","item":"i1","ts":1}'; echo "{\"user\":\"$(head -c 400 /dev/zero | tr '\0' x)\",\"item\":\"i\",\"ts\":1}"
    echo '{"user":"u1","item":"i1","ts":253402300799999}'          # year 9999
    echo '{"user":"u1","item":"i1","ts":1700000000}'               # seconds
    echo '{"user":"u1","item":"i1","ts":1,"weight":-1}'; echo '{"user":"u1","item":"i1","ts":1,"weight":1e9}'
    echo '{"user":"u1","item":"i1","ts":1,"weight":"NaN"}'; echo '{"user":"u1","item":"i1","ts":"soon"}'
    echo '{"user":"u1","item":"i1","ts":1.5}'; echo '{"user":null,"item":"i1","ts":3}'
    printf '{"user":"u1","item":"i1","ts":1,"type":"%s"}\n' "$(head -c 100 /dev/zero | tr '\0' t)"
  } >"$DIR/bad.txt"
  head -c 70000 /dev/zero | tr '\0' ' ' >"$DIR/huge.txt"; echo >>"$DIR/huge.txt"
  bad=$(( $(wc -l <"$DIR/bad.txt") + 1 ))
  kcat -P -b "$B" -t $t <"$DIR/bad.txt" 2>>"$DIR/produce.log"   # one message per line
  kcat -P -b "$B" -t $t <"$DIR/huge.txt" 2>>"$DIR/produce.log"
  # one valid event with the largest weight: accepted, its influence capped
  echo "{\"user\":\"mallory\",\"item\":\"i999\",\"ts\":$now_ms,\"weight\":1000}" | kcat -P -b "$B" -t $t 2>>"$DIR/produce.log"
  serve $t "$s"
  sleep 2
  # HTTP: slowloris, half headers, wrong methods, bad k and ids, a long path.
  for i in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$HPORT && printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ' >&3 && sleep 20) 2>/dev/null & done
  for m in POST PUT DELETE PATCH OPTIONS; do curl -s -o /dev/null -m 2 -X $m "http://127.0.0.1:$HPORT/healthz"; done
  for q in "users/u1/recommendations?k=-1" "users/u1/recommendations?k=99999999" "users/$(head -c 5000 /dev/zero | tr '\0' a)/recommendations" \
           "items/%ZZ/similar" "../../etc/passwd" "users/%00/recommendations"; do
    curl -s -o /dev/null -m 2 "http://127.0.0.1:$HPORT/$q"
  done
  local health; health=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$HPORT/healthz")
  local total=$((EVENTS + bad + 1))
  wait_position "$total" 300 && [ "$health" = 200 ] && survived=1
  local dlq; dlq=$(stats | json 'd["status"]["deadLettered"]' || echo -1)
  stop_serve; [ "$STOP_RC" = 0 ] || { log "serve exited $STOP_RC"; survived=0; }
  [ "$dlq" = "$bad" ] || { log "hostile: dead-lettered $dlq, expected $bad"; survived=0; }
  wait
  record "hostile input ($bad bad, http)" 1 "$survived" "$((EVENTS + 1))" "$(learned "$s")"
}

START=$SECONDS
case_kill9
case_broker
case_disk full
case_disk readonly
case_shared_dir
case_hostile
echo
echo "streamrec chaos run: $(date -u +%FT%TZ), $EVENTS events per case, binary $BIN, $((SECONDS - START)) s"
printf '%-28s %6s %9s %12s %15s\n' case tried survived "events lost" "events doubled"
for r in "${RESULTS[@]}"; do echo "$r"; done

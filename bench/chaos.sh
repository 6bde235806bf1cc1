#!/usr/bin/env bash
# Chaos run against `streamrec serve`: kill -9, broker restarts, a full and a read-only snapshot disk,
# two learners on one directory, hostile input (Kafka messages and HTTP requests), forged model-sync and
# changelog records, and membership changes (SIGTERM, kill -9) of a two-learner group during production.
#
# Loopback only (a private broker on 127.0.0.1, HTTP on 127.0.0.1). Bounded: every case has a fixed
# count and every wait a timeout; the whole run takes a few minutes. Needs root for the tmpfs mounts of
# the disk cases (skipped otherwise).
#
# For each case it prints: tries, survived (serve alive or cleanly restarted, as the case expects),
# events lost and events doubled (valid events produced vs. events in the final snapshot's counters;
# the learner counts every applied event exactly once, so any difference is a loss or a double). The
# two-learner cases (sync and changelog on, 4 partitions) sum both learners' final snapshots.
#
# Usage: bench/chaos.sh
# Env:   STREAMREC_BIN (default: this tree's release build), BENCH_KAFKA_PORT (default: a free port),
#        CHAOS_HTTP_PORT (18593), CHAOS_DIR (/tmp/streamrec-chaos), CHAOS_EVENTS (20000), CHAOS_KILLS (5),
#        CHAOS_SEED (7), CHAOS_CASES (all: "kill9 broker diskfull diskro shared hostile forged rebalance")
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
CASES="${CHAOS_CASES:-kill9 broker diskfull diskro shared hostile forged rebalance}"
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
  RESULTS+=("$(printf '%-34s %6s %9s %12s %15s' "$1" "$2" "$3" "$lost" "$doubled")")
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

# --- two-learner group cases: sync and changelog on, 4 partitions ------------------------------------
# Learner ID of group G: instance id and sync learner id ID, HTTP on its own port, snapshots every
# GROUP_SNAPSHOT_EVENTS (300) events or GROUP_SNAPSHOT_SECONDS (1), a sync batch every GROUP_SYNC_MS
# (300) ms; serve creates the 4-partition topics.
declare -A LPID=()
on_exit 'for p in "${LPID[@]}"; do kill -9 "$p" 2>/dev/null; done'
FORGE="$BENCH_ROOT/bench/forge_records.py"
# learner_start G ID PORT
learner_start() {
  local g="$1" id="$2" port="$3"
  STREAMREC_KAFKA_TOPIC_PARTITIONS=4 STREAMREC_KAFKA_LEAVE_GROUP_ON_SHUTDOWN=true \
    STREAMREC_SYNC_ENABLED=true STREAMREC_SYNC_INTERVAL_MS="${GROUP_SYNC_MS:-300}" STREAMREC_CHANGELOG_ENABLED=true \
    STREAMREC_SNAPSHOTS_EVERY_SECONDS="${GROUP_SNAPSHOT_SECONDS:-1}" STREAMREC_SERVE_ONLINE_EVALUATION_EVERY=0 \
    "$BIN" serve --brokers "$B" --topics "$g" --recommendations-topic "$g-recs" --dead-letter-topic "$g-dlq" \
    --group "$g" --instance-id "$id" --snapshot-dir "$DIR/snap-$g-$id" --snapshot-every "${GROUP_SNAPSHOT_EVENTS:-300}" --http-port "$port" \
    --log-level info >>"$DIR/$g-$id.log" 2>&1 &
  LPID[$id]=$!
}
# learner_stop ID: SIGTERM, bounded wait; STOP_RC = exit status (called directly, never in $(…)).
learner_stop() {
  local pid="${LPID[$1]}" deadline=$((SECONDS + 90))
  kill -TERM "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; wait "$pid" 2>/dev/null; STOP_RC=137
  else wait "$pid" 2>/dev/null; STOP_RC=$?; fi
  unset "LPID[$1]"
}
learner_kill9() { kill -9 "${LPID[$1]}" 2>/dev/null; wait "${LPID[$1]}" 2>/dev/null; unset "LPID[$1]"; }
alive() { kill -0 "${LPID[$1]:-0}" 2>/dev/null; }
lstats() { curl -s -m 2 "http://127.0.0.1:$1/stats"; }
owned() { lstats "$1" | json 'len(d["status"]["partitions"])' || echo -1; }
learning() { [ "$(lstats "$1" | json 'max([p["position"] for p in d["status"]["partitions"]] + [0])' || echo 0)" -gt 0 ] 2>/dev/null; }
# group_position PORT...: summed positions when the learners own the 4 partitions disjointly, else -1.
group_position() {
  python3 - "$@" <<'PY'
import json, sys, urllib.request
seen = {}
try:
    for port in sys.argv[1:]:
        for p in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=2))["status"]["partitions"]:
            if p["partition"] in seen: raise ValueError("shared")
            seen[p["partition"]] = max(p["position"], 0)  # -2: nothing consumed yet
except Exception:
    seen = {}
print(sum(seen.values()) if len(seen) == 4 else -1)
PY
}
# shared PORT PORT: both learners own partitions, disjointly.
shared() { [ "$(group_position "$1" "$2")" -ge 0 ] && [ "$(owned "$1")" -gt 0 ] && [ "$(owned "$2")" -gt 0 ]; }
# quiet PORT SYNC_TOPIC: everything learned is in a durable snapshot, nothing waits to be published, and
# the sync topic is read to its end.
quiet() {
  local end; end=$(($(kcat -C -b "$B" -t "$2" -p 0 -o -1 -e -q -f '%o\n' 2>/dev/null | tail -n1) + 1))
  lstats "$1" | json "d['learner']['counters']['events'] == (d['status'].get('lastSnapshot') or {}).get('events', 0) \
    and d['status']['sync']['pendingBatches'] == 0 and d['status']['sync']['nextOffset'] == $end" | grep -q True
}
# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds; 1 (and a log line) on timeout.
wait_for() {
  local deadline=$((SECONDS + $1)) what="$2"; shift 2
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { log "timed out waiting for: $what"; return 1; }
    sleep 0.3
  done
}
position_is() { [ "$(group_position "${@:2}")" = "$1" ]; }
owns_all() { [ "$(owned "$1")" = 4 ]; }
# reasons PORT PATH: the per-reason rejection counts at d["status"]PATH of /stats as JSON ({} if absent).
reasons() { lstats "$1" | json "json.dumps(d['status']$2, sort_keys=True)" || echo '{}'; }
# reasons_hold JSON CONDITION: the Python CONDITION over r (the counts, 0 when absent) holds.
reasons_hold() {
  python3 -c "import collections,json,sys; r=collections.Counter(json.loads(sys.argv[1])); sys.exit(not ($2))" "$1"
}
reasons_sum() { python3 -c "import json,sys; print(sum(json.loads(sys.argv[1]).values()))" "$1" 2>/dev/null || echo 0; }
group_produce() { "$BIN" produce "$2" --topic "$1" --brokers "$B" --partitions 0 >/dev/null 2>>"$DIR/produce.log"; }

# 7. forged model-sync and changelog records (valid checksums, bench/forge_records.py) while two learners
# serve: every one refused and counted by reason, models finite, lists unchanged; then one learner
# leaves and the other restores its partitions from the changelog past the forged checkpoint.
case_forged() {
  local g=forged pa=$HPORT pb=$((HPORT + 1)) half=$((EVENTS / 2)) ok=2 fail
  fail() { log "forged: $*"; ok=0; }
  head -n "$half" "$DIR/events.jsonl" >"$DIR/$g-1.jsonl"; tail -n +"$((half + 1))" "$DIR/events.jsonl" >"$DIR/$g-2.jsonl"
  learner_start $g A $pa
  wait_for 180 "A owns the 4 partitions" owns_all $pa || fail "A never owned the partitions"
  learner_start $g B $pb
  wait_for 240 "A and B share the partitions" shared $pa $pb || fail "A and B never shared the partitions"
  group_produce $g "$DIR/$g-1.jsonl"
  wait_for 300 "both learned the first half" position_is "$half" $pa $pb || fail "first half not learned"
  wait_for 120 "A quiet" quiet $pa $g.model-sync && wait_for 120 "B quiet" quiet $pb $g.model-sync || fail "not quiet"
  python3 "$FORGE" lists $pa 100 200 >"$DIR/$g-A-before.json" || fail "A's lists before the forgeries"
  python3 "$FORGE" lists $pb 100 200 >"$DIR/$g-B-before.json" || fail "B's lists before the forgeries"

  python3 "$FORGE" sync "$B" $g.model-sync A B || fail "forging sync records failed"
  local p; p=$(lstats $pb | json 'max(p["partition"] for p in d["status"]["partitions"])')
  python3 "$FORGE" changelog "$B" $g.user-state $g "$p" >/dev/null || fail "forging changelog records failed"
  wait_for 120 "A read the forgeries" quiet $pa $g.model-sync && wait_for 120 "B read the forgeries" quiet $pb $g.model-sync \
    || fail "not quiet after the forgeries"
  local id port refused=0
  for id in A B; do
    port=$pa; [ $id = B ] && port=$pb
    alive $id || { fail "$id died"; continue; }
    local reasons; reasons=$(reasons $port '["sync"]["rejectedByReason"]')
    log "forged: $id sync rejections $reasons"
    reasons_hold "$reasons" 'r["non_finite"] >= 3 and r["out_of_bounds"] >= 1 and r["sequence_jump"] >= 1
      and r["unknown_publisher"] == 1' || fail "$id: rejections not counted by reason"
    [ $id = A ] && refused=$(reasons_sum "$reasons")
    curl -s -m 2 "http://127.0.0.1:$port/metrics" | grep -q 'streamrec_sync_rejected_records{reason="non_finite"} [1-9]' \
      || fail "$id: /metrics without the non_finite rejections"
    python3 "$FORGE" lists $port 100 200 >"$DIR/$g-$id-after.json" || fail "$id: lists not finite after the forgeries"
    cmp -s "$DIR/$g-$id-before.json" "$DIR/$g-$id-after.json" || fail "$id: lists changed by the forgeries"
  done

  # B leaves: A restores B's partitions from the changelog, refusing the forged checkpoint and record.
  learner_stop B; [ "$STOP_RC" = 0 ] || fail "B exited $STOP_RC on SIGTERM"
  wait_for 180 "A owns the 4 partitions again" owns_all $pa || fail "A never took over B's partitions"
  group_produce $g "$DIR/$g-2.jsonl"
  wait_for 300 "A learned everything" position_is "$EVENTS" $pa || fail "second half not learned"
  wait_for 120 "A quiet" quiet $pa $g.model-sync || fail "A not quiet at the end"
  local cl; cl=$(reasons $pa '["changelogRejected"]')
  log "forged: A changelog rejections $cl"
  reasons_hold "$cl" 'r["checkpoint_out_of_range"] >= 1 and r["unreadable_user_record"] >= 1' \
    || fail "A: changelog rejections not counted by reason"
  refused=$((refused + $(reasons_sum "$cl")))
  python3 "$FORGE" lists $pa 100 200 >/dev/null || fail "A's lists not finite at the end"
  learner_stop A; [ "$STOP_RC" = 0 ] || fail "A exited $STOP_RC on SIGTERM"
  record "forged records ($refused refused)" 2 "$ok" "$EVENTS" \
    "$(($(learned "$DIR/snap-$g-A") + $(learned "$DIR/snap-$g-B")))"
}

# 8. membership changes while events arrive (a chunk a second in the background): B leaves (SIGTERM) and
# comes back, B is killed (-9) and restarted at once, A leaves and comes back. Snapshots are rarer here
# (every 5 s, a sync batch every 5 s) so a learner has learned past its last durable snapshot when its
# partitions come back lost (ILLEGAL_GENERATION commits on this broker): it must roll back to that
# snapshot, else the partition's next owner learns those events again. The learners' final counters
# must sum to the events produced.
case_rebalance() {
  local g=rebalance pa=$HPORT pb=$((HPORT + 1)) survived=0 n=$(( (EVENTS + 9) / 10 )) producer
  local GROUP_SYNC_MS=1000 GROUP_SNAPSHOT_SECONDS=1 GROUP_SNAPSHOT_EVENTS=100000
  split -l "$n" -d -a 1 "$DIR/events.jsonl" "$DIR/$g-chunk-"
  learner_start $g A $pa
  wait_for 180 "A owns the 4 partitions" owns_all $pa
  learner_start $g B $pb
  wait_for 240 "A and B share the partitions" shared $pa $pb
  ( for f in "$DIR/$g"-chunk-*; do group_produce $g "$f"; sleep 1; done ) &
  producer=$!
  wait_for 60 "B learning" learning $pb
  sleep 1
  learner_stop B; [ "$STOP_RC" = 0 ] && survived=$((survived + 1)) || log "rebalance: B exited $STOP_RC on SIGTERM"
  sleep 1
  learner_start $g B $pb
  wait_for 120 "B learning again" learning $pb
  sleep 1
  learner_kill9 B; learner_start $g B $pb
  wait_for 120 "B learning after kill -9" learning $pb && survived=$((survived + 1))
  learner_stop A; [ "$STOP_RC" = 0 ] && survived=$((survived + 1)) || log "rebalance: A exited $STOP_RC on SIGTERM"
  sleep 1
  learner_start $g A $pa
  wait "$producer"
  wait_for 300 "A and B learned everything" position_is "$EVENTS" $pa $pb || survived=$((survived - 1))
  wait_for 120 "A quiet" quiet $pa $g.model-sync; wait_for 120 "B quiet" quiet $pb $g.model-sync
  # Lost revocations and the rollbacks they caused (a learner that had learned past its last durable
  # snapshot).
  local lost rollbacks
  lost=$(cat "$DIR/$g"-*.log | grep -c 'lost=true .*\] partitions revoked')
  rollbacks=$(cat "$DIR/$g"-*.log | grep -c "rolled back to the last durable snapshot")
  learner_stop B; [ "$STOP_RC" = 0 ] || { log "rebalance: B exited $STOP_RC"; survived=$((survived - 1)); }
  learner_stop A; [ "$STOP_RC" = 0 ] || { log "rebalance: A exited $STOP_RC"; survived=$((survived - 1)); }
  [ $survived -lt 0 ] && survived=0
  record "rebalance ($lost lost, $rollbacks rolled back)" 3 "$survived" "$EVENTS" \
    "$(($(learned "$DIR/snap-$g-A") + $(learned "$DIR/snap-$g-B")))"
}

START=$SECONDS
for c in $CASES; do
  case $c in
    kill9) case_kill9 ;; broker) case_broker ;; diskfull) case_disk full ;; diskro) case_disk readonly ;;
    shared) case_shared_dir ;; hostile) case_hostile ;; forged) case_forged ;; rebalance) case_rebalance ;;
    *) log "unknown case $c" ;;
  esac
done
echo
echo "streamrec chaos run: $(date -u +%FT%TZ), $EVENTS events per case, binary $BIN, $((SECONDS - START)) s"
printf '%-34s %6s %9s %12s %15s\n' case tried survived "events lost" "events doubled"
for r in "${RESULTS[@]}"; do echo "$r"; done

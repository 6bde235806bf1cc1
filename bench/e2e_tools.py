#!/usr/bin/env python3
"""Tooling for bench/e2e-bench.sh (not part of the product).

  e2e_tools.py freeport
      print a free TCP port on 127.0.0.1
  e2e_tools.py pace --rate R [--chunk N] FILE
      write FILE's lines to stdout in chunks of N lines, one chunk every N/R seconds on an absolute
      schedule (no drift), flushing each chunk (pipe into `kcat -P`); stats to stderr
  e2e_tools.py latency EVENTS_DUMP RECS_DUMP
      EVENTS_DUMP: `kcat -f '%p %o %T %k\\n'` of the event topic; RECS_DUMP: `kcat -f '%T %s\\n'` of the
      recommendations topic. For every event, the first recommendation list for its user whose
      source_offset (same partition) is >= the event's offset is the list that reflects it;
      latency = that list's message timestamp - the event's message timestamp (both CreateTime, ms,
      same host clock). Prints one JSON object with count, matched, p50/p90/p99/p999/max (ms).
"""
import bisect
import json
import math
import socket
import sys
import time


def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def pace(args):
    rate = float(args[args.index("--rate") + 1])
    chunk = int(args[args.index("--chunk") + 1]) if "--chunk" in args else 100
    path = args[-1]
    with open(path, "rb") as f:
        lines = f.readlines()
    out = sys.stdout.buffer
    interval = chunk / rate
    start = time.monotonic()
    worst_late = 0.0
    sent = 0
    for i in range(0, len(lines), chunk):
        due = start + (i // chunk) * interval
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        else:
            worst_late = max(worst_late, now - due)
        out.write(b"".join(lines[i:i + chunk]))
        out.flush()
        sent += len(lines[i:i + chunk])
    elapsed = time.monotonic() - start
    print(json.dumps({"sent": sent, "seconds": round(elapsed, 3),
                      "achieved_rate": round(sent / elapsed if elapsed > 0 else 0, 1),
                      "worst_late_ms": round(worst_late * 1000, 1)}), file=sys.stderr)


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    # nearest rank: the smallest value with at least q of the samples <= it
    i = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[i]


def latency(events_path, recs_path):
    recs = {}  # (user, partition) -> sorted [(source_offset, ts)]
    rec_count = 0
    with open(recs_path, "rb") as f:
        for line in f:
            ts, _, doc = line.partition(b" ")
            if not doc.strip():
                continue
            d = json.loads(doc)
            so = d.get("source_offset")
            if so is None:
                continue
            recs.setdefault((d["user"], so["partition"]), []).append((so["offset"], int(ts)))
            rec_count += 1
    for v in recs.values():
        v.sort()
    offsets = {k: [o for o, _ in v] for k, v in recs.items()}
    lat = []
    events = 0
    first_ts = last_ts = None
    with open(events_path, "rb") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4:
                continue
            p, o, ts, user = int(parts[0]), int(parts[1]), int(parts[2]), parts[3].decode()
            events += 1
            first_ts = ts if first_ts is None else min(first_ts, ts)
            last_ts = ts if last_ts is None else max(last_ts, ts)
            key = (user, p)
            if key not in recs:
                continue
            j = bisect.bisect_left(offsets[key], o)
            if j < len(offsets[key]):
                lat.append(recs[key][j][1] - ts)
    lat.sort()
    span = (last_ts - first_ts) / 1000 if events > 1 else 0
    print(json.dumps({
        "events": events, "recommendations": rec_count, "matched": len(lat),
        "offered_rate": round(events / span, 1) if span > 0 else None,
        "p50_ms": percentile(lat, 0.50), "p90_ms": percentile(lat, 0.90), "p99_ms": percentile(lat, 0.99),
        "p999_ms": percentile(lat, 0.999), "max_ms": lat[-1] if lat else None,
        "mean_ms": round(sum(lat) / len(lat), 1) if lat else None,
    }))


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "freeport":
        freeport()
    elif cmd == "pace":
        pace(args)
    elif cmd == "latency":
        latency(args[0], args[1])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

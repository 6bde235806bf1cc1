#!/usr/bin/env python3
"""Forged model-sync and changelog records for bench/chaos.sh (not part of the product).

Writes records with valid CRC-32C checksums in the wire formats of ItemDeltaCodec, SyncAnnouncement
(Sources/StreamRecCore/Sync) and ChangelogCheckpoint (Sources/StreamRecServe/Changelog/ChangelogRecords
.swift), read from and produced to the broker with kcat — what anyone with write access to the topics
could do. No record secret is set in the chaos run, so the learners' content checks are what is tested.

  forge_records.py sync BROKERS SYNC_TOPIC PUBLISHER OTHER
      From PUBLISHER's newest non-empty batch on SYNC_TOPIC (partition 0): four copies with every
      factor, bias and blend delta NaN, +Inf, -Inf and 1e30 (popularity |value|), keyed PUBLISHER with
      the next sequence; an empty batch keyed PUBLISHER with sequence 2^63; an empty batch keyed
      "intruder" (never announced) with sequence 7; an announcement keyed OTHER with sequence 2^62.
  forge_records.py changelog BROKERS CHANGELOG_TOPIC EVENT_TOPIC PARTITION
      In PARTITION of CHANGELOG_TOPIC: the first half of the newest user record (truncated), a copy of
      the newest real checkpoint after it, then a checkpoint with next = 1e9. Prints the victim user.
  forge_records.py lists PORT ITEMS USERS
      /items/{id}/similar?k=10 for the first ITEMS items i0, i1, … and /users/{id}/recommendations?k=10
      for the first USERS users u0, u1, … as one JSON object (ids → list of item ids), on stdout; exits 1
      when a score is non-finite or over 1e6 in magnitude (the wire clamps NaN/Inf to ±3.4e38), or no
      item has similar items.
"""
import json
import math
import struct
import subprocess
import sys
import tempfile
import urllib.request


def crc32c(data):
    table = crc32c.table
    if table is None:
        table = []
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            table.append(c)
        crc32c.table = table
    c = 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


crc32c.table = None


def sealed(body):
    return body + struct.pack("<I", crc32c(body))


def consume(brokers, topic, partition):
    """Every record of one partition as (key bytes or None, value bytes or None), oldest first."""
    out = subprocess.run(
        ["kcat", "-C", "-b", brokers, "-t", topic, "-p", str(partition), "-o", "beginning", "-e", "-q",
         "-f", "%K %S\n%k%s"],
        check=True, stdout=subprocess.PIPE).stdout
    records, i = [], 0
    while i < len(out):
        nl = out.index(b"\n", i)
        klen, vlen = (int(x) for x in out[i:nl].split())
        i = nl + 1
        key = out[i:i + klen] if klen >= 0 else None
        i += max(klen, 0)
        value = out[i:i + vlen] if vlen >= 0 else None
        i += max(vlen, 0)
        records.append((key, value))
    return records


def produce(brokers, topic, partition, key, value):
    with tempfile.NamedTemporaryFile() as f:
        f.write(value)
        f.flush()
        # One file = one message; kcat exits after delivery, so calls in a row keep their order.
        subprocess.run(["kcat", "-P", "-b", brokers, "-t", topic, "-p", str(partition), "-k", key, f.name],
                       check=True)


# --- model sync (ItemDeltaCodec) --------------------------------------------------------------------
HEADER = struct.Struct("<4sBBHIQqIIff")  # magic, version, flags, dimension, publisher, sequence, events,
#                                          rows, new rows, neighbour blend delta, popularity blend delta


def parse_batch(value):
    """Header fields, ids and per-row last-seen of a sync batch (enough to forge a copy)."""
    h = HEADER.unpack_from(value)
    magic, _, flags, k, publisher, sequence, _, n, _, _, _ = h
    assert magic == b"SRIS"
    i = HEADER.size
    ids = []
    for _ in range(n):
        (length,) = struct.unpack_from("<H", value, i)
        ids.append(value[i + 2:i + 2 + length])
        i += 2 + length
    context = flags & 1
    i += 4 * n * k * (2 if context else 1) + 4 * n + 4 * n  # factor, context, bias, popularity deltas
    last_seen = list(struct.unpack_from("<%dq" % n, value, i))
    return dict(flags=flags, k=k, publisher=publisher, sequence=sequence, ids=ids, last_seen=last_seen)


def encode_batch(b, sequence, value, events):
    n, k = len(b["ids"]), b["k"]
    context = b["flags"] & 1
    out = HEADER.pack(b"SRIS", 1, b["flags"], k, b["publisher"], sequence, events, n, 0, value, 0.0)
    for id_ in b["ids"]:
        out += struct.pack("<H", len(id_)) + id_
    f = lambda count, v: struct.pack("<%df" % count, *([v] * count))
    out += f(n * k, value)                  # factor deltas
    if context:
        out += f(n * k, 0.0)                # context deltas
    out += f(n, value)                      # bias deltas
    out += f(n, abs(value))                 # popularity deltas
    out += struct.pack("<%dq" % n, *b["last_seen"])
    out += struct.pack("<II", 0, 0)         # no new rows; no pair ids; no pair ops
    return sealed(out)


def forge_sync(brokers, topic, publisher, other):
    records = consume(brokers, topic, 0)
    mine = [parse_batch(v) for k, v in records if k == publisher.encode() and v and v[:4] == b"SRIS"]
    real = [b for b in mine if b["ids"]]
    if not real:
        sys.exit("no non-empty batch of %s on %s" % (publisher, topic))
    batch = real[-1]
    nxt = max(b["sequence"] for b in mine) + 1
    forged = [(publisher, encode_batch(batch, nxt, v, len(batch["ids"])))
              for v in (math.nan, math.inf, -math.inf, 1e30)]
    empty = dict(batch, ids=[], last_seen=[])
    forged.append((publisher, encode_batch(empty, 1 << 63, 0.0, 1)))
    forged.append(("intruder", encode_batch(empty, 7, 0.0, 1)))
    forged.append((other, sealed(b"SRAN" + struct.pack("<BQ", 1, 1 << 62))))
    for key, value in forged:
        produce(brokers, topic, 0, key.encode(), value)
    print("forged %d sync records (batch of %d rows, dimension %d, sequence %d)"
          % (len(forged), len(batch["ids"]), batch["k"], nxt), file=sys.stderr)


# --- changelog (ChangelogCheckpoint, user records) ---------------------------------------------------
def forge_changelog(brokers, topic, event_topic, partition):
    records = consume(brokers, topic, partition)
    cp_key = b"\xff" + b"cp:%d:" % partition + event_topic.encode()
    checkpoints = [v for k, v in records if k == cp_key and v]
    users = [(k, v) for k, v in records if k and k[0] != 0xFF and v]
    if not checkpoints or not users:
        sys.exit("partition %d of %s holds no checkpoint or user record" % (partition, topic))
    real = checkpoints[-1]
    assert real[:4] == b"SRCK"
    (tlen,) = struct.unpack_from("<I", real, 5)
    at = 5 + 4 + tlen + 4  # magic, version, topic, partition
    next_offset, learned = struct.unpack_from("<qq", real, at)
    forged = sealed(real[:at] + struct.pack("<qq", 1_000_000_000, learned))
    victim, value = users[-1]
    produce(brokers, topic, partition, victim, value[:len(value) // 2])
    produce(brokers, topic, partition, cp_key, real)
    produce(brokers, topic, partition, cp_key, forged)
    print("forged changelog partition %d: truncated record of %s, checkpoint next %d -> 1e9"
          % (partition, victim.decode(), next_offset), file=sys.stderr)
    print(victim.decode())


# --- lists ------------------------------------------------------------------------------------------
def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def lists(port, n_items, n_users):
    base = "http://127.0.0.1:%s" % port
    out, worst, bad, similar = {}, 0.0, [], 0
    for kind, path, n in (("i", "/items/i%d/similar?k=10", n_items), ("u", "/users/u%d/recommendations?k=10", n_users)):
        for i in range(n):
            try:
                entries = get(base + path % i).get("items", [])
            except Exception:  # an unknown id answers 404: no list
                entries = []
            out[kind + str(i)] = [e.get("item") for e in entries]
            similar += 1 if kind == "i" and entries else 0
            for e in entries:
                s = e.get("score", 0.0)
                worst = max(worst, abs(s)) if math.isfinite(s) else math.inf
                if not math.isfinite(s) or abs(s) > 1e6:
                    bad.append((kind + str(i), s))
    json.dump(out, sys.stdout, sort_keys=True)
    print("lists on :%s: %d items with similar items, largest |score| %.3g, %d bad scores %s"
          % (port, similar, worst, len(bad), bad[:3]), file=sys.stderr)
    return 0 if not bad and similar > 0 else 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sync":
        forge_sync(*args)
    elif cmd == "changelog":
        forge_changelog(args[0], args[1], args[2], int(args[3]))
    elif cmd == "lists":
        sys.exit(lists(args[0], int(args[1]), int(args[2])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

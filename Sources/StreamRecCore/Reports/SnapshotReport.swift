import Foundation

/// What `streamrec snapshot inspect` prints: everything readable about a snapshot file, including why it
/// does not decode, without trusting its body.
public struct SnapshotInspection: Sendable {
    public var path: String
    public var info: SnapshotInfo
    /// Why a full decode fails (nil when the snapshot decodes and would be loaded).
    public var decodeError: SnapshotError?

    /// Reads and inspects `path`. Throws only when the file can't be read or isn't a snapshot at all.
    public init(path: String) throws(SnapshotError) {
        let bytes = try SnapshotStore.readFile(path)
        try self.init(path: path, bytes: bytes)
    }

    public init(path: String, bytes: [UInt8]) throws(SnapshotError) {
        self.path = path
        do {
            info = try SnapshotCodec.inspect(bytes)
        } catch {
            throw SnapshotError(error.kind, path: path)
        }
        do {
            _ = try SnapshotCodec.decode(bytes)
            decodeError = nil
        } catch {
            decodeError = error
        }
    }

    /// Human-readable multi-line report.
    public func render() -> String {
        var lines: [String] = []
        func add(_ key: String, _ value: String) {
            lines.append(key.padding(toLength: 12, withPad: " ", startingAt: 0) + value)
        }
        add("file", path)
        add("format", "version \(info.formatVersion)")
        add("size", "\(info.byteSize) bytes")
        add(
            "checksum",
            info.checksumValid
                ? "ok (crc32c \(Self.hex(info.storedChecksum)))"
                : "MISMATCH (stored \(Self.hex(info.storedChecksum)), computed \(Self.hex(info.computedChecksum)))"
        )
        add("status", decodeError.map { "CORRUPT: \($0.description)" } ?? "ok (decodes)")
        if let created = info.createdAt {
            let date = Date(timeIntervalSince1970: Double(created) / 1000)
            add("created", "\(date.formatted(.iso8601)) (\(created) ms)")
        }
        if let fingerprint = info.configFingerprint { add("config", "fingerprint \(String(fingerprint, radix: 16))") }
        if let json = info.configJSON { add("", json) }
        if let users = info.users, let items = info.items { add("counts", "\(users) users, \(items) items") }
        if let c = info.counters {
            add(
                "counters",
                "events \(c.events), sgd steps \(c.sgdSteps), zero-weight \(c.zeroWeightEvents), "
                    + "new users \(c.newUsers), new items \(c.newItems), evictions \(c.userEvictions) users / "
                    + "\(c.itemEvictions) items, non-finite rejected \(c.nonFiniteRejected), seen-set forgot \(c.seenForgotten)"
            )
        }
        if let position = info.position {
            // A file replay records an event count; serve records the next offset per partition and no
            // count, so a count of 0 beside offsets says nothing and is left out.
            var label = "position"
            if position.offsets.isEmpty || position.eventsConsumed > 0 {
                add(label, "\(position.eventsConsumed) events consumed")
                label = ""
            }
            for o in position.offsets {
                add(label, "\(o.topic)[\(o.partition)] next offset \(o.offset)")
                label = ""
            }
        }
        return lines.joined(separator: "\n")
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 8 - s.count)) + s
    }
}

/// `streamrec snapshot verify`: a full decode (framing, checksum, structure) of one file or of every
/// snapshot file in a directory.
public enum SnapshotVerifier {
    /// One file's verdict.
    public struct Result: Sendable, Equatable {
        public var path: String
        /// nil when the file verifies.
        public var error: String?
        public var ok: Bool { error == nil }

        public init(path: String, error: String?) {
            self.path = path
            self.error = error
        }
    }

    /// Verifies `path`: a file, or a directory whose `*.srsnap` files (temp files of in-progress writes
    /// excluded) are all verified, in name order. A directory without snapshots yields one failing
    /// result, since "nothing to restore from" is what the caller must hear.
    public static func verify(path: String) -> [Result] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return [Result(path: path, error: "no such file or directory")]
        }
        guard isDirectory.boolValue else { return [verifyFile(path)] }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0.hasSuffix(".srsnap") && !$0.hasPrefix(".tmp-") }
            .sorted()
        guard !names.isEmpty else { return [Result(path: path, error: "no snapshot files (*.srsnap) in directory")] }
        let base = path.hasSuffix("/") ? path : path + "/"
        return names.map { verifyFile(base + $0) }
    }

    static func verifyFile(_ path: String) -> Result {
        do {
            _ = try SnapshotCodec.decode(try SnapshotStore.readFile(path))
            return Result(path: path, error: nil)
        } catch {
            var e = error
            e.path = nil
            return Result(path: path, error: e.description)
        }
    }
}

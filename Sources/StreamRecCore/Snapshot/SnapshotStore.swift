import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A directory of versioned snapshots: `snapshot-<sequence>.srsnap`, written atomically
/// (temp file → fsync → rename → fsync directory), the newest `retain` kept.
///
/// Loading walks from the newest file backwards and returns the first that verifies, so a snapshot
/// torn by a crash or corrupted on disk costs one interval of progress, never the model.
public struct SnapshotStore: Sendable {
    public let directory: String
    public let retain: Int

    public init(directory: String, retain: Int = 3) throws(SnapshotError) {
        self.directory = directory
        self.retain = max(1, retain)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SnapshotError(.io("cannot create snapshot directory: \(error.localizedDescription)"), path: directory)
        }
    }

    /// Snapshot files, newest first, as (sequence, path).
    public func list() -> [(sequence: Int64, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int64, String)? in
            guard name.hasPrefix("snapshot-"), name.hasSuffix(".srsnap"),
                let seq = Int64(name.dropFirst("snapshot-".count).dropLast(".srsnap".count))
            else { return nil }
            return (seq, directory + "/" + name)
        }.sorted { $0.0 > $1.0 }
    }

    /// Writes a new snapshot durably and prunes old ones. Returns the new file's path.
    @discardableResult
    public func write(_ snapshot: LearnerSnapshot) throws(SnapshotError) -> String {
        let parts = SnapshotCodec.encodedParts(snapshot)
        let sequence = (list().first?.sequence ?? 0) + 1
        let path = directory + "/" + String(format: "snapshot-%012lld.srsnap", sequence)
        let temp = directory + "/.tmp-" + String(format: "%012lld", sequence) + "-\(getpid()).srsnap"
        try Self.writeDurably([parts.head, parts.payload, parts.tail], to: temp)
        guard rename(temp, path) == 0 else {
            let e = errno
            unlink(temp)
            throw SnapshotError(.io("rename failed: \(String(cString: strerror(e)))"), path: path)
        }
        Self.syncDirectory(directory)
        prune()
        return path
    }

    /// Deletes all but the newest `retain` snapshots and any leftover temp files of dead writers.
    public func prune() {
        for old in list().dropFirst(retain) { unlink(old.path) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(".tmp-") && !name.hasSuffix("-\(getpid()).srsnap") {
            unlink(directory + "/" + name)
        }
    }

    /// Outcome of ``loadNewestGood(expectedConfig:)``.
    public struct Loaded: Sendable {
        public var snapshot: LearnerSnapshot
        public var path: String
        /// Newer files that failed verification, with the reason (to be logged by the caller).
        public var rejected: [(path: String, error: SnapshotError)]
    }

    /// Returns the newest snapshot that verifies, or nil when none exist. A config mismatch is not a
    /// corruption: it is thrown, since falling back to an older snapshot would hide the operator error.
    public func loadNewestGood(expectedConfig: ModelConfig? = nil) throws(SnapshotError) -> Loaded? {
        var rejected: [(path: String, error: SnapshotError)] = []
        for entry in list() {
            do {
                let snap = try Self.load(path: entry.path, expectedConfig: expectedConfig)
                return Loaded(snapshot: snap, path: entry.path, rejected: rejected)
            } catch {
                if case .configMismatch = error.kind { throw error }
                rejected.append((entry.path, error))
            }
        }
        if let newest = rejected.first {
            throw SnapshotError(
                .corrupt("no valid snapshot among \(rejected.count) file(s); newest: \(newest.error)"),
                path: directory
            )
        }
        return nil
    }

    public static func load(path: String, expectedConfig: ModelConfig? = nil) throws(SnapshotError) -> LearnerSnapshot {
        let bytes = try readFile(path)
        do {
            return try SnapshotCodec.decode(bytes, expectedConfig: expectedConfig)
        } catch {
            throw SnapshotError(error.kind, path: path)
        }
    }

    public static func readFile(_ path: String) throws(SnapshotError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SnapshotError(.io("cannot read file"), path: path)
        }
        return [UInt8](data)
    }

    /// Writes `chunks` one after the other to a new file at `path`, then fsyncs it.
    static func writeDurably(_ chunks: [[UInt8]], to path: String) throws(SnapshotError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw SnapshotError(.io("open failed: \(String(cString: strerror(errno)))"), path: path)
        }
        defer { close(fd) }
        var failure: Int32?
        for chunk in chunks where failure == nil {
            var written = 0
            failure = chunk.withUnsafeBytes { raw -> Int32? in
                while written < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    written += n
                }
                return nil
            }
        }
        if let e = failure {
            unlink(path)
            throw SnapshotError(.io("write failed: \(String(cString: strerror(e)))"), path: path)
        }
        guard fsync(fd) == 0 else {
            let e = errno
            unlink(path)
            throw SnapshotError(.io("fsync failed: \(String(cString: strerror(e)))"), path: path)
        }
    }

    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

import Foundation
import StreamRecCore

#if canImport(Glibc)
import Glibc
#endif

/// One learner per snapshot directory, and only the learner it belongs to: two learners sharing one
/// would interleave snapshot files and load each other's model and offsets. Hence an exclusive `flock`
/// on `<dir>/.lock` for the process's lifetime (the kernel releases it even on kill -9), and
/// `identity.json` naming the group and topics the directory belongs to, checked at start-up.
final class SnapshotDirectoryLock: Sendable {
    private let fd: Int32
    let path: String

    init(directory: String) throws {
        path = directory + "/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ServeConfigError("cannot open snapshot directory lock \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            var holder = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &holder, holder.count, 0)
            close(fd)
            let pid =
                n > 0
                ? String(decoding: holder[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            if e == EWOULDBLOCK {
                throw ServeConfigError(
                    "snapshot directory \(directory) is in use by another streamrec process (pid \(pid)); "
                        + "each learner needs its own snapshots.directory"
                )
            }
            throw ServeConfigError("cannot lock snapshot directory \(directory): \(String(cString: strerror(e)))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
    }

    deinit { close(fd) }  // closing the descriptor releases the lock
}

/// Which group and topics a snapshot directory's state was learned from.
struct SnapshotIdentity: Codable, Equatable {
    var group: String
    var topics: [String]

    static func path(in directory: String) -> String { directory + "/identity.json" }

    /// Records the identity on first use; afterwards refuses a learner of another group, or one that no
    /// longer consumes a topic the state was learned from (adding a topic is fine and is recorded).
    static func claim(directory: String, group: String, topics: [String]) throws {
        let mine = SnapshotIdentity(group: group, topics: topics.sorted())
        let path = path(in: directory)
        if let data = FileManager.default.contents(atPath: path) {
            guard let recorded = try? JSONDecoder().decode(SnapshotIdentity.self, from: data) else {
                throw ServeConfigError(
                    "\(path) is unreadable; remove it only if this directory belongs to group '\(group)'"
                )
            }
            guard recorded.group == mine.group, Set(recorded.topics).isSubset(of: mine.topics) else {
                throw ServeConfigError(
                    "snapshot directory \(directory) belongs to group '\(recorded.group)', topics "
                        + "\(recorded.topics); this learner is group '\(group)', topics \(mine.topics). "
                        + "Use a separate snapshots.directory per group and topic set"
                )
            }
            if recorded == mine { return }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let temp = path + ".tmp"
        try encoder.encode(mine).write(to: URL(fileURLWithPath: temp))
        guard rename(temp, path) == 0 else {
            throw ServeConfigError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// A snapshot whose offsets name topics this learner doesn't consume was learned from other input
    /// (e.g. a directory written before `identity.json` existed): resuming from it would be wrong.
    static func verify(_ position: SourcePosition, topics: [String], path: String) throws {
        let foreign = Set(position.offsets.map(\.topic)).subtracting(topics).sorted()
        guard foreign.isEmpty else {
            throw ServeConfigError(
                "snapshot \(path) holds offsets of topics \(foreign), which this learner does not "
                    + "consume (\(topics.sorted())); refusing to resume from another learner's state"
            )
        }
    }
}

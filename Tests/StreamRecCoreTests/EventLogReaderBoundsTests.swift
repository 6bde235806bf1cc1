import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecCore

#if canImport(Glibc)
import Glibc
#endif

/// Hostile or mistaken replay input: an enormous line, a FIFO, a device. Inputs are generated here.
@Suite("EventLogReader input bounds")
struct LogReaderBoundsTests {
    /// Writes `before`, then `longBytes` bytes of `x`, a newline, then `after`, in 1 MiB writes.
    static func writeLog(_ path: String, before: String, longBytes: Int, after: String) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(before.utf8))
        let chunk = Data(repeating: UInt8(ascii: "x"), count: 1 << 20)
        var left = longBytes
        while left > 0 {
            let n = min(left, chunk.count)
            try handle.write(contentsOf: chunk.prefix(n))
            left -= n
        }
        try handle.write(contentsOf: Data(("\n" + after).utf8))
    }

    /// File-backed pages this process has resident (`RssFile` in /proc/self/status), in bytes.
    static func residentFileBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
        let kb = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        return kb * 1024
    }

    @Test(
        "a 64 MiB line over a 1 KiB limit is skipped and counted, the lines around it read, and it is not left resident",
        arguments: ["jsonl", "csv"]
    )
    func longLine(format: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/long." + format
        let long = 64 << 20
        if format == "jsonl" {
            try Self.writeLog(
                path,
                before: #"{"user":"u1","item":"i1","ts":1}"# + "\n",
                longBytes: long,
                after: #"{"user":"u2","item":"i2","ts":2}"# + "\n"
            )
        } else {
            try Self.writeLog(path, before: "user,item,ts\nu1,i1,1\n", longBytes: long, after: "u2,i2,2\n")
        }
        let baseline = try Self.residentFileBytes()
        var reader = try EventLogReader(path: path, limits: EventLimits(maxMessageBytes: 1024))
        var users: [String] = []
        while let event = reader.next() { users.append(event.user) }
        let grown = try Self.residentFileBytes() - baseline
        withExtendedLifetime(reader) {}

        #expect(users == ["u1", "u2"])
        #expect(reader.stats.malformed == 1)
        #expect(
            reader.stats.malformedExamples.first?.error.reason == .tooLarge(bytes: long, limit: 1024),
            "\(reader.stats.malformedExamples)"
        )
        // Scanned in 16 MiB chunks, each released: well under the line's 64 MiB stays mapped in. (Other
        // tests running alongside may fault in a few pages of their own, hence the margin.)
        #expect(grown < 40 << 20, "resident file pages grew by \(grown) bytes")
    }

    @Test("a line just under the limit (with CRLF) is read; one byte over is counted as too large")
    func limitEdges() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/edge.jsonl"
        let base = #"{"user":"u1","item":"i1","ts":1,"type":"#
        let limit = 64
        let fits = base + "\"" + String(repeating: "v", count: limit - base.utf8.count - 3) + "\"}"
        let over = base + "\"" + String(repeating: "v", count: limit - base.utf8.count - 2) + "\"}"
        #expect(fits.utf8.count == limit && over.utf8.count == limit + 1)
        try (fits + "\r\n" + over + "\r\n" + fits).write(toFile: path, atomically: true, encoding: .utf8)
        var limits = EventLimits(maxMessageBytes: limit)
        limits.maxTypeBytes = 64
        let (events, stats) = try EventLogReader.readAll(path: path, limits: limits)
        #expect(events.count == 2)
        #expect(stats.malformedExamples.map(\.error.reason) == [.tooLarge(bytes: limit + 1, limit: limit)])
    }

    @Test("a FIFO, a character device and a directory are refused with what they are")
    func notRegularFiles() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/events.jsonl"
        #expect(mkfifo(fifo, 0o600) == 0)
        // Opening a FIFO for reading would block until a writer appears: the check must come first.
        #expect(throws: EventLogReaderError.notRegularFile(path: fifo, kind: "a FIFO (named pipe)")) {
            try EventLogReader(path: fifo)
        }
        #expect(throws: EventLogReaderError.notRegularFile(path: "/dev/zero", kind: "a character device")) {
            try EventLogReader(path: "/dev/zero", format: .jsonl)
        }
        do {
            _ = try EventLogReader(path: dir, format: .jsonl)
            Issue.record("a directory was accepted")
        } catch {
            #expect("\(error)" == "event log '\(dir)' is not a regular file: it is a directory")
        }
    }

    @Test("an empty file reads as no events")
    func emptyFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/empty.jsonl"
        FileManager.default.createFile(atPath: path, contents: Data())
        let (events, stats) = try EventLogReader.readAll(path: path)
        #expect(events.isEmpty && stats.lines == 0)
    }
}

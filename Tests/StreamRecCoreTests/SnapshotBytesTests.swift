import Foundation
import Testing

@testable import StreamRecCore

/// A run interrupted and resumed writes a final snapshot that differs from an uninterrupted run's only in
/// the wall-clock `createdAt` field (8 bytes, little-endian milliseconds; between runs minutes apart
/// only the low 3 bytes change) and the CRC-32C trailer that covers it.
@Suite("snapshot bytes after an interrupted run")
struct SnapshotBytesTests {
    @Test("with the same createdAt, interrupted-and-resumed and uninterrupted snapshots are byte-identical")
    func sameBytes() throws {
        let events = try ReplayTests.plantedLog(events: 3000)
        let config = ReplayTests().config()
        var options = ReplayOptions()
        options.windowSize = 500
        var full = try ReplaySession(config: config, options: options)
        _ = try full.run(events: events)

        let dir = ReplayTests().tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SnapshotStore(directory: dir)
        var interrupted = options
        interrupted.snapshotEvery = 400
        interrupted.stopAfter = 1234
        var first = try ReplaySession(config: config, options: interrupted)
        _ = try first.run(events: events, snapshots: store)
        let loaded = try #require(try store.loadNewestGood(expectedConfig: config))
        var resumedOptions = options
        resumedOptions.snapshotEvery = 400
        var resumed = try ReplaySession(resuming: loaded.snapshot, options: resumedOptions)
        _ = try resumed.run(events: events, snapshots: store)

        let createdAt: Int64 = 1_796_694_931_107
        let a = SnapshotCodec.encode(full.snapshot(createdAt: createdAt))
        let b = SnapshotCodec.encode(resumed.snapshot(createdAt: createdAt))
        #expect(a == b)

        // A different createdAt changes exactly that field's bytes and the checksum.
        let later = SnapshotCodec.encode(resumed.snapshot(createdAt: createdAt + 40_282))
        #expect(later.count == a.count)
        let differing = a.indices.filter { a[$0] != later[$0] }
        let createdAtOffset = Self.createdAtOffset(a)
        let crcOffset = a.count - SnapshotCodec.trailerSize
        #expect(
            differing.allSatisfy {
                (createdAtOffset..<createdAtOffset + 8).contains($0) || (crcOffset..<crcOffset + 4).contains($0)
            }
        )
        #expect(differing.filter { $0 >= crcOffset }.count >= 1)
        #expect(differing.contains(createdAtOffset))
    }

    /// Header, then the config JSON (u32 length + bytes), then the u64 fingerprint, then createdAt.
    static func createdAtOffset(_ bytes: [UInt8]) -> Int {
        let start = SnapshotCodec.headerSize
        let length = bytes[start..<start + 4].reversed().reduce(0) { $0 << 8 | Int($1) }
        return start + 4 + length + 8
    }
}

import Foundation
import StreamRecCore
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

@Suite("snapshot inspect / verify")
struct SnapshotReportTests {
    func writeGood(in dir: String, eventsConsumed: Int64 = 11) throws -> String {
        let store = try SnapshotStore(directory: dir)
        var position = SourcePosition(eventsConsumed: eventsConsumed)
        position.setOffset(42, topic: "events", partition: 3)
        return try store.write(
            LearnerSnapshot(learner: try makeLearner(), position: position, createdAt: 1_700_000_000_000)
        )
    }

    func corrupt(_ path: String, at offset: Int) throws {
        var bytes = try SnapshotStore.readFile(path)
        bytes[offset] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test("inspect a good snapshot: version, counts, offsets, checksum ok")
    func inspectGood() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try writeGood(in: dir)
        let inspection = try SnapshotInspection(path: path)
        #expect(inspection.decodeError == nil)
        #expect(inspection.info.checksumValid)
        #expect(inspection.info.users == 4)
        #expect(inspection.info.items == 5)
        #expect(inspection.info.position?.offset(topic: "events", partition: 3) == 42)
        let text = inspection.render()
        #expect(text.contains("version \(SnapshotCodec.formatVersion)"))
        #expect(text.contains("checksum    ok"))
        #expect(text.contains("status      ok (decodes)"))
        #expect(text.contains("4 users, 5 items"))
        #expect(text.contains("events[3] next offset 42"))
        #expect(text.contains("11 events consumed"))
        #expect(text.contains("\"factors\":8"))
    }

    @Test("inspect a serve snapshot: the next offsets are the position, no '0 events consumed' beside them")
    func inspectOffsetsOnly() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try SnapshotInspection(path: try writeGood(in: dir, eventsConsumed: 0)).render()
        #expect(text.contains("position    events[3] next offset 42"))
        #expect(!text.contains("events consumed"))
    }

    @Test("inspect a corrupt snapshot: checksum mismatch reported, not thrown")
    func inspectCorrupt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try writeGood(in: dir)
        try corrupt(path, at: 100)
        let inspection = try SnapshotInspection(path: path)
        #expect(!inspection.info.checksumValid)
        #expect(inspection.decodeError != nil)
        #expect(inspection.info.users == nil)
        let text = inspection.render()
        #expect(text.contains("checksum    MISMATCH"))
        #expect(text.contains("CORRUPT"))
    }

    @Test("inspect a file that is not a snapshot throws")
    func inspectGarbage() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/garbage.srsnap"
        try Data(repeating: 0x41, count: 64).write(to: URL(fileURLWithPath: path))
        #expect(throws: SnapshotError.self) { try SnapshotInspection(path: path) }
    }

    @Test("verify: a directory reports each file; corruption and truncation fail")
    func verifyDirectory() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = try writeGood(in: dir)
        let bad = try writeGood(in: dir)
        let truncated = try writeGood(in: dir)
        try corrupt(bad, at: 200)
        let bytes = try SnapshotStore.readFile(truncated)
        try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: truncated))

        #expect(SnapshotVerifier.verify(path: good) == [.init(path: good, error: nil)])
        let results = SnapshotVerifier.verify(path: dir)
        #expect(results.map(\.path) == [good, bad, truncated])
        #expect(results.map(\.ok) == [true, false, false])
        #expect(results[1].error?.contains("checksum mismatch") == true)
        #expect(results[2].error?.contains("truncated") == true)
    }

    @Test("verify: missing path and empty directory fail")
    func verifyNothing() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(SnapshotVerifier.verify(path: dir).map(\.ok) == [false])
        #expect(SnapshotVerifier.verify(path: dir + "/missing.srsnap").map(\.ok) == [false])
    }
}

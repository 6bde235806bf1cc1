import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecCore

@Suite("EventLogReader")
struct EventLogReaderTests {
    @Test func readsJSONLFixtureAndReportsBadLines() throws {
        let (events, stats) = try EventLogReader.readAll(path: TestPaths.fixture("sample.jsonl"))
        #expect(events.map(\.user) == ["u1", "u2", "u1", "42", "café"])
        #expect(events[3] == Event(user: "42", item: "i2", timestamp: 1_700_000_000_500, type: "rating", weight: 4.5))
        #expect(events[4].item == "中")
        #expect(
            stats.lines == 11 && stats.events == 5 && stats.blank == 2 && stats.malformed == 4 && stats.headers == 0
        )
        #expect(stats.malformedExamples.map(\.line) == [6, 7, 8, 10])
        #expect(
            stats.malformedExamples.map(\.error.reason.kind) == [
                "malformedJSON", "malformedJSON", "invalidUTF8", "invalidTimestamp",
            ]
        )
        #expect(stats.malformedExamples[0].description.hasPrefix("line 6: malformed JSON at byte"))
    }

    @Test func readsCSVFixtureWithHeaderQuotesAndCRLF() throws {
        let reader = try EventLogReader(path: TestPaths.fixture("sample.csv"))
        #expect(reader.format == .csv)
        let (events, stats) = try EventLogReader.readAll(path: TestPaths.fixture("sample.csv"))
        #expect(
            events == [
                Event(user: "u1", item: "i1", timestamp: 1_700_000_000_000, weight: 5),
                Event(user: "u,2", item: "i \"quoted\"", timestamp: 1_700_000_000_100),
                Event(user: "u3", item: "multi\nline", timestamp: 1_700_000_000_200, weight: 3.5),
                Event(user: "u6", item: "i6", timestamp: 1_700_000_000_300, weight: 2),
                Event(user: "u8", item: "i8", timestamp: 1_700_000_000_500, weight: 1),
            ]
        )
        #expect(
            stats.lines == 11 && stats.headers == 1 && stats.blank == 1 && stats.events == 5 && stats.malformed == 3
        )
        #expect(stats.malformedExamples.map(\.line) == [7, 8, 10])
        #expect(
            stats.malformedExamples.map(\.error.reason.kind) == [
                "malformedRecord", "invalidTimestamp", "malformedRecord",
            ]
        )
        #expect(stats.malformedExamples[2].error.description.contains("unterminated quoted field"))
    }

    @Test func readsMovieLensTSVAsRatingsInMilliseconds() throws {
        let (events, stats) = try EventLogReader.readAll(path: TestPaths.fixture("u.data"))
        #expect(events.first == Event(user: "196", item: "242", timestamp: 881_250_949_000, type: "rating", weight: 3))
        #expect(events.last == Event(user: "210", item: "40", timestamp: 891_035_994_000, type: "rating", weight: 3))
        #expect(stats.lines == 16 && stats.events == 12 && stats.blank == 1 && stats.malformed == 3)
        #expect(stats.malformedExamples.map(\.line) == [11, 12, 15])
        #expect(
            stats.malformedExamples.map(\.error.reason.kind) == [
                "malformedRecord", "invalidWeight", "invalidTimestamp",
            ]
        )

        #expect(!Event.isSortedByTime(events))
        let sorted = Event.sortedByTime(events)
        #expect(Event.isSortedByTime(sorted))
        #expect(Set(sorted) == Set(events) && sorted.count == events.count)
    }

    @Test func sortByTimeIsStable() {
        let events = (0..<50).map { Event(user: "u\($0)", item: "i", timestamp: Int64(($0 * 7) % 5)) }
        let sorted = Event.sortedByTime(events)
        #expect(Event.isSortedByTime(sorted))
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.timestamp == b.timestamp {
            #expect(Int(a.user.dropFirst())! < Int(b.user.dropFirst())!)
        }
    }

    @Test("format detection by extension, then content")
    func detectsFormat() throws {
        let dir = try temporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String, EventLogFormat?)] = [
            ("a.jsonl", "", .jsonl), ("a.ndjson", "", .jsonl), ("a.CSV", "", .csv), ("u.data", "", .tsv),
            ("a.tsv", "", .tsv),
            ("a.log", "\n  {\"user\":\"u\",\"item\":\"i\",\"ts\":1}\n", .jsonl),
            ("b.log", "1\t2\t3\t4\n", .tsv),
            ("c.log", "1::2::3::4\n", .tsv),
            ("d.log", "user,item,ts\n", .csv),
            ("e.log", "hello\n", nil),
            ("f.log", "", nil),
        ]
        for (name, content, expected) in cases {
            let path = dir.appendingPathComponent(name).path
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
            if let expected {
                #expect(try EventLogReader(path: path).format == expected, "\(name)")
            } else {
                #expect(throws: EventLogReaderError.unknownFormat(path: path)) { try EventLogReader(path: path) }
            }
        }
        #expect(throws: EventLogReaderError.self) {
            try EventLogReader(path: dir.appendingPathComponent("missing.jsonl").path)
        }
    }

    @Test("events written by EventEncoder read back identically", arguments: [EventLogFormat.jsonl, .csv])
    func roundTripsEncoderOutput(format: EventLogFormat) throws {
        var inputs = RandomInputs(seed: 11)
        let events = (0..<200).map { _ in inputs.event() }
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]  // a BOM must be tolerated
        if format == .csv {
            bytes += Array((EventEncoder.csvHeader + "\r\n").utf8)
            for event in events { EventEncoder.appendCSV(event, to: &bytes) }
        } else {
            for event in events {
                EventEncoder.appendJSON(event, to: &bytes)
                bytes += [0x0D, 0x0A]
            }
        }
        let dir = try temporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("log.\(format.rawValue)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (read, stats) = try EventLogReader.readAll(path: path)
        #expect(stats.malformedExamples.isEmpty)
        #expect(read == events)
        #expect(stats.events == 200)
    }

    @Test("garbage never stops a read; every line is accounted for", arguments: [EventLogFormat.jsonl, .csv, .tsv])
    func survivesGarbage(format: EventLogFormat) throws {
        var rng = RandomSource(seed: 99)
        var bytes: [UInt8] = []
        for line in 0..<400 {
            if line % 3 == 0 {
                bytes += Array(#"{"user":"u","item":"i","ts":1}"#.utf8)
                    .map { rng.nextInt(below: 8) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : $0 }
            } else {
                bytes += (0..<rng.nextInt(below: 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }.filter {
                    $0 != 0x0A
                }
            }
            bytes += rng.nextInt(below: 2) == 0 ? [0x0A] : [0x0D, 0x0A]
        }
        bytes += Array(#"{"user":"last","item":"i","ts":1}"#.utf8)  // no trailing newline
        let dir = try temporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("garbage.bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let (events, stats) = try EventLogReader.readAll(path: path, format: format)
        let physicalLines = bytes.count { $0 == 0x0A } + 1
        #expect(stats.lines == physicalLines)
        #expect(
            stats.malformed > 0 && stats.malformedExamples.count == min(stats.malformed, EventLogReadStats.maxExamples)
        )
        #expect(stats.events == events.count)
        if format != .csv {  // CSV records may span lines; JSONL/TSV lines map 1:1 to outcomes
            #expect(stats.events + stats.blank + stats.malformed == physicalLines)
        }
        if format == .jsonl { #expect(events.last?.user == "last") }
        let lineNumbers = stats.malformedExamples.map(\.line)
        #expect(lineNumbers == lineNumbers.sorted() && lineNumbers.allSatisfy { (1...physicalLines).contains($0) })
    }

    @Test("oversized lines are rejected without stopping the read", arguments: [EventLogFormat.jsonl, .csv, .tsv])
    func rejectsOversizedLines(format: EventLogFormat) throws {
        let good: String =
            switch format {
            case .jsonl: #"{"user":"u","item":"i","ts":1}"#
            case .csv: "u,i,1"
            default: "u\ti\t1\t1"
            }
        let huge =
            format == .csv ? "u,\"" + String(repeating: "x", count: 500) + "\",1" : String(repeating: good, count: 20)
        let dir = try temporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("big").path
        try Data([good, huge, good].joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        let (events, stats) = try EventLogReader.readAll(
            path: path,
            format: format,
            limits: EventLimits(maxMessageBytes: 100)
        )
        #expect(events.count == 2)
        #expect(stats.malformedExamples.map(\.line) == [2])
        let kind = stats.malformedExamples.first?.error.reason.kind
        #expect(kind == "tooLarge" || (format == .csv && kind == "malformedRecord"))
    }

    @Test func streamsWithNext() throws {
        var reader = try EventLogReader(path: TestPaths.fixture("u.data"))
        var count = 0
        while let event = reader.next() {
            count += 1
            #expect(event.type == "rating")
            #expect(reader.stats.events == count)
        }
        #expect(count == 12 && reader.next() == nil && reader.stats.events == 12)
    }
}

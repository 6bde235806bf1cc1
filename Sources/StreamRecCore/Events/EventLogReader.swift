// Slightly over 400 lines: the four formats' line parsers share one buffered reader and its
// quoting/BOM/limit handling; splitting them would spread one state machine over several files.
import Foundation

/// On-disk event log formats.
public enum EventLogFormat: String, Sendable, CaseIterable {
    /// Pick by file extension, then by content (see ``EventLogReader/detectFormat(path:sample:)``).
    case auto
    /// One event JSON object per line (`schemas/event.schema.json`).
    case jsonl
    /// `user,item,ts[,weight]` (ts in ms), RFC 4180 quoting. A first record whose third field isn't an
    /// integer is a header; if it names the user, item and ts columns (`user`/`user_id`, `item`/`item_id`,
    /// `ts`/`timestamp`, optionally `type` and `weight`/`rating`) columns are matched by name.
    case csv
    /// MovieLens style `user<TAB>item<TAB>rating<TAB>ts_seconds` (`u.data`; `::`-separated
    /// `ratings.dat` too): ts becomes milliseconds, weight the rating, type `"rating"`. A RecBole atomic
    /// file (`.inter`, header `user_id:token item_id:token rating:float timestamp:float`) is read by its
    /// header's column names.
    case tsv
}

/// What a ``EventLogReader`` saw. Bad lines never stop a read; they are counted here.
public struct EventLogReadStats: Sendable, Hashable {
    /// Physical lines consumed (a quoted CSV field may span several).
    public var lines = 0
    public var events = 0
    /// Empty or whitespace-only lines.
    public var blank = 0
    /// CSV header lines skipped (0 or 1).
    public var headers = 0
    public var malformed = 0
    /// The first ``maxExamples`` malformed lines, for reports; ``malformed`` counts all of them.
    public var malformedExamples: [MalformedLine] = []

    public static let maxExamples = 100

    public struct MalformedLine: Sendable, Hashable, CustomStringConvertible {
        /// 1-based line number where the bad record starts.
        public var line: Int
        public var error: EventDecodingError
        public var description: String { "line \(line): \(error)" }
    }

    public init() {}

    mutating func recordMalformed(line: Int, _ error: EventDecodingError) {
        malformed += 1
        if malformedExamples.count < Self.maxExamples {
            malformedExamples.append(MalformedLine(line: line, error: error))
        }
    }
}

public enum EventLogReaderError: Error, Sendable, Hashable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case unknownFormat(path: String)
    /// A FIFO, device, directory or socket: a log must be a regular file (a FIFO would block, `/dev/zero`
    /// never ends).
    case notRegularFile(path: String, kind: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "cannot open event log '\(path)': \(reason)"
        case let .unknownFormat(path): "cannot tell the format of '\(path)'; name it .jsonl, .csv or .tsv"
        case let .notRegularFile(path, kind): "event log '\(path)' is not a regular file: it is \(kind)"
        }
    }
}

/// Streams events out of a log file.
///
/// The file is memory-mapped and scanned as bytes, so logs larger than RAM work and no whole-file String
/// is ever built. Scanned pages are released every ``releaseBytes``, and a line longer than the message
/// limit is skipped chunk by chunk, so resident memory stays bounded by the limit, not the file or the
/// longest line. Garbage (invalid UTF-8, oversized or truncated lines, wrong field counts) is counted in
/// ``stats`` with line numbers and never stops the read; CRLF line ends, a UTF-8 BOM and a missing final
/// newline are accepted. Copies of a reader continue independently (the mapping is shared, immutable).
public struct EventLogReader: IteratorProtocol, Sendable {
    public let path: String
    /// The resolved format (never `.auto`).
    public let format: EventLogFormat
    public let limits: EventLimits
    public private(set) var stats = EventLogReadStats()

    private let file: MappedFile
    private var offset = 0
    /// Offset up to which pages were handed back to the kernel.
    private var released = 0
    /// Pages behind the read position are released in steps of this many bytes.
    static let releaseBytes = 64 << 20
    /// An over-long line is scanned for its end in chunks of this size.
    static let skipChunkBytes = 16 << 20
    private var columns: CSVColumns?
    /// Set when a TSV log starts with a RecBole `.inter` header.
    private var atomicHeader: AtomicFileHeader?
    private let decoder: EventDecoder

    public init(path: String, format: EventLogFormat = .auto, limits: EventLimits = .init()) throws(EventLogReaderError)
    {
        switch FileKind(path: path) {
        case .regular(let size):
            do throws(MappedFileError) {
                file = try MappedFile(path: path, size: Int(size))
            } catch {
                throw .cannotOpen(path: path, reason: error.reason)
            }
        case .unreadable(let reason): throw .cannotOpen(path: path, reason: reason)
        case let kind: throw .notRegularFile(path: path, kind: "\(kind)")
        }
        self.path = path
        self.limits = limits
        self.decoder = EventDecoder(limits: limits)
        if format != .auto {
            self.format = format
        } else if let detected = Self.detectFormat(path: path, sample: file.bytes) {
            self.format = detected
        } else {
            throw .unknownFormat(path: path)
        }
        if file.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { offset = 3 }
    }

    /// Reads a whole log into memory (events in file order; see ``Event/sortedByTime(_:)``).
    public static func readAll(
        path: String,
        format: EventLogFormat = .auto,
        limits: EventLimits = .init()
    ) throws(EventLogReaderError) -> (events: [Event], stats: EventLogReadStats) {
        var reader = try EventLogReader(path: path, format: format, limits: limits)
        var events: [Event] = []
        events.reserveCapacity(reader.file.count / 48)
        while let event = reader.next() { events.append(event) }
        return (events, reader.stats)
    }

    /// Extension first (`.jsonl`/`.ndjson`/`.json`, `.csv`, `.tsv`/`.data`/`.dat`), then the first
    /// non-blank line: `{` → jsonl, a tab or `::` → tsv, a comma → csv.
    public static func detectFormat(path: String, sample: UnsafeRawBufferPointer) -> EventLogFormat? {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "jsonl", "ndjson", "json": return .jsonl
        case "csv": return .csv
        case "tsv", "data", "dat", "tab", "inter": return .tsv
        default: break
        }
        var lineStart = 0
        let sample = UnsafeRawBufferPointer(rebasing: sample.prefix(64 * 1024))
        while lineStart < sample.count {
            let lineEnd = sample[lineStart...].firstIndex(of: 0x0A) ?? sample.count
            let line = UnsafeRawBufferPointer(rebasing: sample[lineStart..<lineEnd])
            lineStart = lineEnd + 1
            guard let first = line.first(where: { !isSpace($0) }) else { continue }
            if first == UInt8(ascii: "{") { return .jsonl }
            if line.contains(0x09) { return .tsv }
            if line.indices.contains(where: { $0 + 1 < line.count && line[$0] == 0x3A && line[$0 + 1] == 0x3A }) {
                return .tsv
            }
            if line.contains(UInt8(ascii: ",")) { return .csv }
            return nil
        }
        return nil
    }

    public mutating func next() -> Event? {
        // The mapping lives as long as `file`, which `self` holds.
        let raw = file.bytes
        if offset - released >= Self.releaseBytes {
            file.release(released..<offset)
            released = offset
        }
        while offset < raw.count {
            let lineNumber = stats.lines + 1
            guard let lineEnd = lineEnd(raw) else {
                let bytes = skipLongLine(raw)
                stats.lines += 1
                stats.recordMalformed(
                    line: lineNumber,
                    EventDecodingError(.tooLarge(bytes: bytes, limit: limits.maxMessageBytes))
                )
                continue
            }
            let result: Result<Event, EventDecodingError>?
            if format == .csv {
                result = nextCSV(raw)
            } else {
                var line = UnsafeRawBufferPointer(rebasing: raw[offset..<lineEnd])
                offset = lineEnd + 1
                stats.lines += 1
                if line.last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
                if line.allSatisfy(Self.isSpace) {
                    result = nil
                } else if line.count > limits.maxMessageBytes {
                    result = .failure(
                        EventDecodingError(.tooLarge(bytes: line.count, limit: limits.maxMessageBytes))
                    )
                } else if format == .jsonl {
                    result = Result { () throws(EventDecodingError) in try decoder.decode(line) }
                } else if stats.events == 0 && stats.malformed == 0 && stats.headers == 0,
                    let header = AtomicFileHeader(line)
                {
                    atomicHeader = header
                    stats.headers += 1
                    continue
                } else {
                    result = Result { () throws(EventDecodingError) in try parseTSV(line) }
                }
            }
            switch result {
            case nil: stats.blank += 1
            case let .success(event)?:
                stats.events += 1
                return event
            case let .failure(error)?: stats.recordMalformed(line: lineNumber, error)
            }
        }
        return nil
    }

    // MARK: Line bounds

    /// Where the physical line at `offset` ends (its newline, or the end of the file), looking no further
    /// than a line within the message limit (plus a CR) can reach; nil for a longer line.
    private func lineEnd(_ raw: UnsafeRawBufferPointer) -> Int? {
        let window = offset + limits.maxMessageBytes + 2
        if let newline = Self.newline(in: raw, from: offset, before: min(window, raw.count)) { return newline }
        return window >= raw.count ? raw.count : nil
    }

    /// Moves past the over-long line at `offset`, scanning it a chunk at a time and releasing each
    /// scanned chunk, so the line is never resident whole; returns its length (without CR and newline).
    private mutating func skipLongLine(_ raw: UnsafeRawBufferPointer) -> Int {
        var scan = offset + limits.maxMessageBytes + 2
        var end = raw.count
        while scan < raw.count {
            let chunkEnd = min(raw.count, scan + Self.skipChunkBytes)
            if let newline = Self.newline(in: raw, from: scan, before: chunkEnd) {
                end = newline
                break
            }
            file.release(released..<chunkEnd)
            released = chunkEnd
            scan = chunkEnd
        }
        let length = end > offset && raw[end - 1] == 0x0D ? end - offset - 1 : end - offset
        offset = end + 1
        return length
    }

    // MARK: TSV

    private func parseTSV(_ line: UnsafeRawBufferPointer) throws(EventDecodingError) -> Event {
        if let header = atomicHeader { return try parseAtomic(line, header) }
        var fields: [UnsafeRawBufferPointer] = []
        fields.reserveCapacity(4)
        let doubleColon = !line.contains(0x09)
        var start = 0
        var i = 0
        while i <= line.count {
            if i == line.count || (!doubleColon && line[i] == 0x09) {
                fields.append(Self.trimmed(UnsafeRawBufferPointer(rebasing: line[start..<i])))
                start = i + 1
            } else if doubleColon, line[i] == 0x3A, i + 1 < line.count, line[i + 1] == 0x3A {
                fields.append(Self.trimmed(UnsafeRawBufferPointer(rebasing: line[start..<i])))
                i += 1
                start = i + 1
            }
            i += 1
        }
        guard fields.count == 4 else {
            throw EventDecodingError(
                .malformedRecord("expected 4 fields (user, item, rating, ts_seconds), got \(fields.count)")
            )
        }
        return Event(
            user: try EventFields.id(fields[0], field: "user", limits: limits),
            item: try EventFields.id(fields[1], field: "item", limits: limits),
            timestamp: try EventFields.timestamp(fields[3], scale: 1000),
            type: "rating",
            weight: try EventFields.weight(fields[2], limits: limits)
        )
    }

    /// One data line of a RecBole atomic file (columns by header name; seconds, possibly `881250949.0`).
    private func parseAtomic(
        _ line: UnsafeRawBufferPointer,
        _ header: AtomicFileHeader
    ) throws(EventDecodingError) -> Event {
        var fields: [UnsafeRawBufferPointer] = []
        fields.reserveCapacity(header.fieldCount)
        var start = 0
        for i in 0...line.count where i == line.count || line[i] == 0x09 {
            fields.append(Self.trimmed(UnsafeRawBufferPointer(rebasing: line[start..<i])))
            start = i + 1
        }
        guard fields.count == header.fieldCount else {
            throw EventDecodingError(
                .malformedRecord("expected \(header.fieldCount) fields as in the header, got \(fields.count)")
            )
        }
        var ts = fields[header.timestamp]
        if let dot = ts.firstIndex(of: UInt8(ascii: ".")), ts[(dot + 1)...].allSatisfy({ $0 == UInt8(ascii: "0") }) {
            ts = UnsafeRawBufferPointer(rebasing: ts[..<dot])
        }
        return Event(
            user: try EventFields.id(fields[header.user], field: "user", limits: limits),
            item: try EventFields.id(fields[header.item], field: "item", limits: limits),
            timestamp: try EventFields.timestamp(ts, scale: 1000),
            type: header.rating == nil ? nil : "rating",
            weight: try header.rating.map { (c) throws(EventDecodingError) in
                try EventFields.weight(fields[c], limits: limits)
            }
        )
    }

    // MARK: CSV

    /// Reads one CSV record at `offset`; nil for a blank line.
    private mutating func nextCSV(_ raw: UnsafeRawBufferPointer) -> Result<Event, EventDecodingError>? {
        let record = CSVRecord.parse(raw, from: offset, maxBytes: limits.maxMessageBytes)
        offset = record.next
        stats.lines += record.lines
        if let error = record.error { return .failure(EventDecodingError(.malformedRecord(error))) }
        if record.fields.count == 1, !record.fields[0].quoted, record.fields[0].range.isEmpty { return nil }
        if record.next - record.start > limits.maxMessageBytes {
            return .failure(
                EventDecodingError(.tooLarge(bytes: record.next - record.start, limit: limits.maxMessageBytes))
            )
        }
        if columns == nil {
            if let header = CSVColumns(header: record, in: raw) {
                columns = header
                stats.headers += 1
                if offset < raw.count, lineEnd(raw) == nil {
                    stats.lines += 1
                    return .failure(
                        EventDecodingError(.tooLarge(bytes: skipLongLine(raw), limit: limits.maxMessageBytes))
                    )
                }
                return nextCSV(raw)
            }
            columns = .positional
        }
        return Result { () throws(EventDecodingError) in try columns!.event(from: record, in: raw, limits: limits) }
    }

    // MARK: Bytes

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D }

    static func trimmed(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else {
            return UnsafeRawBufferPointer(rebasing: bytes[0..<0])
        }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        return UnsafeRawBufferPointer(rebasing: bytes[first...last])
    }

    /// The first `\n` in `raw[start..<before]` (`before` defaults to the end).
    static func newline(in raw: UnsafeRawBufferPointer, from start: Int, before: Int? = nil) -> Int? {
        let end = min(before ?? raw.count, raw.count)
        guard start < end, let base = raw.baseAddress else { return nil }
        guard let hit = memchr(base + start, 0x0A, end - start) else { return nil }
        return UnsafeRawPointer(hit) - base
    }
}

/// One RFC 4180 record: field ranges into the mapped file, where the record ends and how many physical
/// lines it spans.
struct CSVRecord {
    struct Field {
        /// Contents without surrounding quotes or (for unquoted fields) surrounding spaces.
        var range: Range<Int>
        var quoted: Bool
        /// Contains `""` that must be collapsed to `"`.
        var hasEscapedQuotes: Bool
    }

    var start: Int
    var fields: [Field] = []
    /// Offset just past the record's terminating newline.
    var next: Int
    var lines = 1
    var error: String?

    static func parse(_ raw: UnsafeRawBufferPointer, from start: Int, maxBytes: Int) -> CSVRecord {
        var record = CSVRecord(start: start, next: raw.count)
        var i = start
        let n = raw.count
        func resync(_ message: String) -> CSVRecord {
            // Give up on this record at its first physical line; the next line is read afresh.
            var failed = CSVRecord(start: start, next: raw.count, error: message)
            if let newline = EventLogReader.newline(in: raw, from: start) { failed.next = newline + 1 }
            return failed
        }
        while true {
            while i < n, raw[i] == 0x20 || raw[i] == 0x09 { i += 1 }
            if i < n, raw[i] == UInt8(ascii: "\"") {
                i += 1
                let contentStart = i
                var escaped = false
                var newlines = 0
                while true {
                    guard i < n, i - start <= maxBytes else { return resync("unterminated quoted field") }
                    if raw[i] == UInt8(ascii: "\"") {
                        if i + 1 < n, raw[i + 1] == UInt8(ascii: "\"") {
                            escaped = true
                            i += 2
                            continue
                        }
                        break
                    }
                    if raw[i] == 0x0A { newlines += 1 }
                    i += 1
                }
                record.fields.append(Field(range: contentStart..<i, quoted: true, hasEscapedQuotes: escaped))
                record.lines += newlines
                i += 1
                while i < n, EventLogReader.isSpace(raw[i]) { i += 1 }
                guard i == n || raw[i] == UInt8(ascii: ",") || raw[i] == 0x0A else {
                    return resync("unexpected character after a closing quote")
                }
            } else {
                let fieldStart = i
                while i < n, raw[i] != UInt8(ascii: ","), raw[i] != 0x0A { i += 1 }
                var end = i
                while end > fieldStart, EventLogReader.isSpace(raw[end - 1]) { end -= 1 }
                record.fields.append(Field(range: fieldStart..<end, quoted: false, hasEscapedQuotes: false))
            }
            if i < n, raw[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            record.next = min(i + 1, n)
            return record
        }
    }

    /// Calls `body` with the field's unescaped bytes.
    func withField<R, E: Error>(
        _ index: Int,
        in raw: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let field = fields[index]
        let bytes = UnsafeRawBufferPointer(rebasing: raw[field.range])
        guard field.hasEscapedQuotes else { return try body(bytes) }
        var unescaped: [UInt8] = []
        var skipNext = false
        for byte in bytes {
            if skipNext {
                skipNext = false
                continue
            }
            unescaped.append(byte)
            if byte == UInt8(ascii: "\"") { skipNext = true }
        }
        return try unescaped.withUnsafeBytes { buffer in Result { () throws(E) in try body(buffer) } }.get()
    }
}

/// Which CSV column holds which event field.
struct CSVColumns {
    var user = 0, item = 1, ts = 2
    var type: Int?
    var weight: Int? = 3
    /// Exact field count required when columns come from a header.
    var fieldCount: Int?

    static let positional = CSVColumns()

    /// A header is a first record whose third field is not an integer; nil if `record` is data.
    init?(header record: CSVRecord, in raw: UnsafeRawBufferPointer) {
        if record.fields.count >= 3,
            (try? record.withField(2, in: raw, { (b) throws(EventDecodingError) in try EventFields.timestamp(b) }))
                != nil
        {
            return nil
        }
        let names = record.fields.indices.map { index in
            record.withField(index, in: raw) { String(decoding: $0, as: UTF8.self).lowercased() }
        }
        func column(_ aliases: Set<String>) -> Int? { names.firstIndex(where: aliases.contains) }
        guard let user = column(["user", "user_id", "userid", "uid"]),
            let item = column(["item", "item_id", "itemid", "iid", "movie_id", "product_id"]),
            let ts = column(["ts", "timestamp", "time", "ts_ms"])
        else {
            self = .positional
            return
        }
        self.user = user
        self.item = item
        self.ts = ts
        self.type = column(["type", "event_type", "event"])
        self.weight = column(["weight", "rating", "score"])
        self.fieldCount = names.count
    }

    private init() {}

    func event(
        from record: CSVRecord,
        in raw: UnsafeRawBufferPointer,
        limits: EventLimits
    ) throws(EventDecodingError) -> Event {
        let count = record.fields.count
        if let fieldCount {
            guard count == fieldCount else {
                throw EventDecodingError(
                    .malformedRecord("expected \(fieldCount) fields as in the header, got \(count)")
                )
            }
        } else if count != 3 && count != 4 {
            throw EventDecodingError(.malformedRecord("expected 3 or 4 fields (user,item,ts[,weight]), got \(count)"))
        }
        func isEmpty(_ index: Int?) -> Bool {
            guard let index, index < count else { return true }
            return record.fields[index].range.isEmpty
        }
        var event = Event(
            user: try record.withField(user, in: raw) { (b) throws(EventDecodingError) in
                try EventFields.id(b, field: "user", limits: limits)
            },
            item: try record.withField(item, in: raw) { (b) throws(EventDecodingError) in
                try EventFields.id(b, field: "item", limits: limits)
            },
            timestamp: try record.withField(ts, in: raw) { (b) throws(EventDecodingError) in
                try EventFields.timestamp(b)
            }
        )
        if let type, !isEmpty(type) {
            event.type = try record.withField(type, in: raw) { (b) throws(EventDecodingError) in
                try EventFields.type(b, limits: limits)
            }
        }
        if let weight, !isEmpty(weight) {
            event.weight = try record.withField(weight, in: raw) { (b) throws(EventDecodingError) in
                try EventFields.weight(b, limits: limits)
            }
        }
        return event
    }
}

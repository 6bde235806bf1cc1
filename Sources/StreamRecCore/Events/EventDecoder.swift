/// Decodes one event from a flat JSON object (see `schemas/event.schema.json`).
///
/// Hand-written because it runs once per Kafka message: it makes a single pass over the bytes, allocates
/// only the id strings, and validates the whole document (unknown members, including nested values, are
/// syntax-checked and skipped) so that "accepted" means "valid JSON that satisfies the event schema".
///
/// Rules beyond the schema: `user`/`item` may be JSON integers (normalized to their decimal text, `-0`
/// to `0`); `ts` must be an integer literal (no fraction or exponent); `type`/`weight` may be `null`
/// (same as absent); a known field appearing twice is rejected as ambiguous; nesting deeper than
/// ``maxDepth`` is rejected to bound stack use.
public struct EventDecoder: Sendable {
    public var limits: EventLimits
    /// Deepest nesting accepted inside unknown members.
    public static let maxDepth = 64

    public init(limits: EventLimits = .init()) {
        self.limits = limits
    }

    public func decode(_ bytes: UnsafeRawBufferPointer) throws(EventDecodingError) -> Event {
        guard bytes.count <= limits.maxMessageBytes else {
            throw EventDecodingError(.tooLarge(bytes: bytes.count, limit: limits.maxMessageBytes))
        }
        var parser = EventParser(bytes: bytes, limits: limits)
        return try parser.parseEvent()
    }

    public func decode(_ bytes: [UInt8]) throws(EventDecodingError) -> Event {
        try bytes.withUnsafeBytes { buffer in Result { () throws(EventDecodingError) in try decode(buffer) } }.get()
    }

    public func decode(_ line: Substring) throws(EventDecodingError) -> Event {
        let viaStorage = line.utf8.withContiguousStorageIfAvailable { buffer in
            Result { () throws(EventDecodingError) in try decode(UnsafeRawBufferPointer(buffer)) }
        }
        return try (viaStorage ?? Result { () throws(EventDecodingError) in try decode(Array(line.utf8)) }).get()
    }
}

/// Single-pass parser over one message. Offsets in errors are byte offsets into the message.
struct EventParser {
    let b: UnsafeRawBufferPointer
    let limits: EventLimits
    var pos = 0

    init(bytes: UnsafeRawBufferPointer, limits: EventLimits) {
        self.b = bytes
        self.limits = limits
    }

    private enum Field: UInt8 {
        case user = 1
        case item = 2
        case ts = 4
        case type = 8
        case weight = 16
        var name: String {
            switch self {
            case .user: "user"
            case .item: "item"
            case .ts: "ts"
            case .type: "type"
            case .weight: "weight"
            }
        }
    }

    mutating func parseEvent() throws(EventDecodingError) -> Event {
        skipWhitespace()
        guard pos < b.count, b[pos] == UInt8(ascii: "{") else {
            throw malformed(pos >= b.count ? "empty message" : "expected a JSON object")
        }
        pos += 1
        var seen: UInt8 = 0
        var user: String?
        var item: String?
        var ts: Int64?
        var type: String?
        var weight: Float?
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            pos += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw malformed("expected a member name") }
                let field = try parseKey()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw malformed("expected ':'") }
                pos += 1
                skipWhitespace()
                if let field {
                    if seen & field.rawValue != 0 { throw EventDecodingError(.duplicateField(field.name)) }
                    seen |= field.rawValue
                    switch field {
                    case .user: user = try parseId(field)
                    case .item: item = try parseId(field)
                    case .ts: ts = try parseTimestamp()
                    case .type: type = try parseType()
                    case .weight: weight = try parseWeight()
                    }
                } else {
                    try skipValue(depth: 1)
                }
                skipWhitespace()
                let separator = peek()
                guard separator == UInt8(ascii: ",") || separator == UInt8(ascii: "}") else {
                    throw malformed("expected ',' or '}'")
                }
                pos += 1
                if separator == UInt8(ascii: "}") { break }
            }
        }
        skipWhitespace()
        guard pos == b.count else { throw malformed("unexpected data after the object") }
        guard let user else { throw EventDecodingError(.missingField("user")) }
        guard let item else { throw EventDecodingError(.missingField("item")) }
        guard let ts else { throw EventDecodingError(.missingField("ts")) }
        return Event(user: user, item: item, timestamp: ts, type: type, weight: weight)
    }

    // MARK: Known fields

    private mutating func parseKey() throws(EventDecodingError) -> Field? {
        let token = try scanString()
        let raw = UnsafeRawBufferPointer(rebasing: b[token.start..<token.end])
        if token.hasEscapes {
            switch try decodeString(token) {
            case "user": return .user
            case "item": return .item
            case "ts": return .ts
            case "type": return .type
            case "weight": return .weight
            default: return nil
            }
        }
        switch raw.count {
        case 2: return raw.elementsEqual("ts".utf8) ? .ts : nil
        case 4:
            return raw.elementsEqual("user".utf8)
                ? .user
                : raw.elementsEqual("item".utf8)
                    ? .item
                    : raw.elementsEqual("type".utf8) ? .type : nil
        case 6: return raw.elementsEqual("weight".utf8) ? .weight : nil
        default: return nil
        }
    }

    private mutating func parseId(_ field: Field) throws(EventDecodingError) -> String {
        switch peek() {
        case UInt8(ascii: "\""):
            let token = try scanString()
            if !token.hasEscapes {
                try EventFields.checkId(byteCount: token.end - token.start, field: field.name, limits: limits)
                return String(decoding: UnsafeRawBufferPointer(rebasing: b[token.start..<token.end]), as: UTF8.self)
            }
            let id = try decodeString(token)
            try EventFields.checkId(byteCount: id.utf8.count, field: field.name, limits: limits)
            return id
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = pos
            let number = try scanNumber()
            guard number.isInteger else {
                throw EventDecodingError(.wrongType(field: field.name, expected: "a string or an integer"))
            }
            let digits = UnsafeRawBufferPointer(rebasing: b[start..<number.end])
            if digits.count == 2, number.negative, digits[1] == UInt8(ascii: "0") { return "0" }
            try EventFields.checkId(byteCount: digits.count, field: field.name, limits: limits)
            return String(decoding: digits, as: UTF8.self)
        default:
            try skipValue(depth: 1)
            throw EventDecodingError(.wrongType(field: field.name, expected: "a string or an integer"))
        }
    }

    private mutating func parseTimestamp() throws(EventDecodingError) -> Int64 {
        let start = pos
        guard peek() == UInt8(ascii: "-") || (peek() &- UInt8(ascii: "0")) < 10 else {
            try skipValue(depth: 1)
            throw EventDecodingError(.wrongType(field: "ts", expected: "an integer (milliseconds since epoch)"))
        }
        let number = try scanNumber()
        return try EventFields.timestamp(UnsafeRawBufferPointer(rebasing: b[start..<number.end]))
    }

    private mutating func parseType() throws(EventDecodingError) -> String? {
        if try consumeNull() { return nil }
        guard peek() == UInt8(ascii: "\"") else {
            try skipValue(depth: 1)
            throw EventDecodingError(.wrongType(field: "type", expected: "a string"))
        }
        let type = try decodeString(try scanString())
        try EventFields.checkType(type, limits: limits)
        return type
    }

    private mutating func parseWeight() throws(EventDecodingError) -> Float? {
        if try consumeNull() { return nil }
        let start = pos
        guard peek() == UInt8(ascii: "-") || (peek() &- UInt8(ascii: "0")) < 10 else {
            try skipValue(depth: 1)
            throw EventDecodingError(.wrongType(field: "weight", expected: "a number"))
        }
        let number = try scanNumber()
        return try EventFields.weight(UnsafeRawBufferPointer(rebasing: b[start..<number.end]), limits: limits)
    }

    private mutating func consumeNull() throws(EventDecodingError) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try expectLiteral("null")
        return true
    }

    // MARK: Generic JSON

    @inline(__always) private func peek() -> UInt8 { pos < b.count ? b[pos] : 0 }

    @inline(__always) private mutating func skipWhitespace() {
        while pos < b.count {
            switch b[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    private func malformed(_ detail: String, at offset: Int? = nil) -> EventDecodingError {
        EventDecodingError(.malformedJSON(offset: offset ?? pos, detail))
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(EventDecodingError) {
        let n = literal.utf8CodeUnitCount
        let text = UnsafeRawBufferPointer(start: literal.utf8Start, count: n)
        guard pos + n <= b.count, UnsafeRawBufferPointer(rebasing: b[pos..<pos + n]).elementsEqual(text) else {
            throw malformed("invalid literal")
        }
        pos += n
    }

    private mutating func scanNumber() throws(EventDecodingError) -> JSONNumber {
        guard let number = JSONNumber.scan(b, from: pos) else { throw malformed("invalid number") }
        pos = number.end
        return number
    }

    /// Validates and skips any JSON value.
    private mutating func skipValue(depth: Int) throws(EventDecodingError) {
        guard depth <= EventDecoder.maxDepth else { throw malformed("nesting deeper than \(EventDecoder.maxDepth)") }
        switch peek() {
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "{"):
            pos += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                pos += 1
                return
            }
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw malformed("expected a member name") }
                _ = try scanString()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw malformed("expected ':'") }
                pos += 1
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                let c = peek()
                guard c == UInt8(ascii: ",") || c == UInt8(ascii: "}") else { throw malformed("expected ',' or '}'") }
                pos += 1
                if c == UInt8(ascii: "}") { return }
            }
        case UInt8(ascii: "["):
            pos += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                pos += 1
                return
            }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                let c = peek()
                guard c == UInt8(ascii: ",") || c == UInt8(ascii: "]") else { throw malformed("expected ',' or ']'") }
                pos += 1
                if c == UInt8(ascii: "]") { return }
            }
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: throw malformed(pos >= b.count ? "unexpected end of input" : "expected a value")
        }
    }

    /// Bounds of a string's contents (between the quotes).
    struct StringToken {
        var start: Int
        var end: Int
        var hasEscapes: Bool
    }

    /// Scans a string starting at its opening quote, checking escapes, control characters and UTF-8.
    private mutating func scanString() throws(EventDecodingError) -> StringToken {
        pos += 1
        let start = pos
        var hasEscapes = false
        var isASCII = true
        while pos < b.count {
            let c = b[pos]
            if c == UInt8(ascii: "\"") {
                let token = StringToken(start: start, end: pos, hasEscapes: hasEscapes)
                pos += 1
                if !isASCII,
                    let bad = UTF8Validation.firstInvalidOffset(UnsafeRawBufferPointer(rebasing: b[start..<token.end]))
                {
                    throw EventDecodingError(.invalidUTF8(offset: start + bad))
                }
                return token
            } else if c == UInt8(ascii: "\\") {
                hasEscapes = true
                guard pos + 1 < b.count else { break }
                switch b[pos + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                    UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    pos += 2
                case UInt8(ascii: "u"):
                    guard hex4(at: pos + 2) != nil else { throw malformed("invalid \\u escape") }
                    pos += 6
                default:
                    throw malformed("invalid escape")
                }
            } else if c < 0x20 {
                throw malformed("unescaped control character in string")
            } else {
                if c >= 0x80 { isASCII = false }
                pos += 1
            }
        }
        throw malformed("unterminated string", at: start - 1)
    }

    private func hex4(at i: Int) -> UInt16? {
        guard i + 4 <= b.count else { return nil }
        var v: UInt16 = 0
        for k in i..<i + 4 {
            let c = b[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt16(d)
        }
        return v
    }

    /// Materializes a scanned string, resolving escapes (surrogate pairs must be complete).
    private func decodeString(_ token: StringToken) throws(EventDecodingError) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: b[token.start..<token.end])
        guard token.hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = token.start
        while i < token.end {
            let c = b[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            let e = b[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                let unit = hex4(at: i)!
                i += 4
                var scalar = UInt32(unit)
                if (0xD800...0xDBFF).contains(unit) {
                    guard i + 6 <= token.end, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u"),
                        let low = hex4(at: i + 2), (0xDC00...0xDFFF).contains(low)
                    else { throw malformed("unpaired surrogate in \\u escape", at: i - 6) }
                    scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(unit) {
                    throw malformed("unpaired surrogate in \\u escape", at: i - 6)
                }
                out.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
            default: out.append(e)  // \" \\ \/
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

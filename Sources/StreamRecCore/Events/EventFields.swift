/// Validation shared by every event source (JSON decoder, CSV and TSV readers), so a given bad value is
/// rejected with the same reason whichever format it arrived in.
enum EventFields {
    /// A `user`/`item` id from raw UTF-8 bytes: must be valid UTF-8, non-empty and within the byte cap.
    static func id(
        _ bytes: UnsafeRawBufferPointer,
        field: String,
        limits: EventLimits
    ) throws(EventDecodingError) -> String {
        try checkId(byteCount: bytes.count, field: field, limits: limits)
        if let bad = UTF8Validation.firstInvalidOffset(bytes) {
            throw EventDecodingError(.invalidUTF8(offset: bad))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func checkId(byteCount: Int, field: String, limits: EventLimits) throws(EventDecodingError) {
        if byteCount == 0 { throw EventDecodingError(.emptyId(field: field)) }
        if byteCount > limits.maxIdBytes {
            throw EventDecodingError(.idTooLong(field: field, bytes: byteCount, limit: limits.maxIdBytes))
        }
    }

    /// An event `type` from raw UTF-8 bytes.
    static func type(_ bytes: UnsafeRawBufferPointer, limits: EventLimits) throws(EventDecodingError) -> String {
        if let bad = UTF8Validation.firstInvalidOffset(bytes) {
            throw EventDecodingError(.invalidUTF8(offset: bad))
        }
        let type = String(decoding: bytes, as: UTF8.self)
        try checkType(type, limits: limits)
        return type
    }

    static func checkType(_ type: String, limits: EventLimits) throws(EventDecodingError) {
        let count = type.utf8.count
        if count == 0 { throw EventDecodingError(.invalidType("must not be empty")) }
        if count > limits.maxTypeBytes {
            throw EventDecodingError(.invalidType("\(count) bytes (limit \(limits.maxTypeBytes))"))
        }
    }

    /// Parses a JSON-style integer literal (`-?(0|[1-9][0-9]*)`) as milliseconds; rejects anything
    /// else, including fractions and exponents, negatives and values past year 9999.
    static func timestamp(_ text: UnsafeRawBufferPointer, scale: Int64 = 1) throws(EventDecodingError) -> Int64 {
        guard let number = JSONNumber.scan(text, from: 0), number.end == text.count else {
            throw EventDecodingError(.invalidTimestamp("not a number: '\(preview(text))'"))
        }
        guard number.isInteger else {
            throw EventDecodingError(.invalidTimestamp("must be an integer, got '\(preview(text))'"))
        }
        if number.negative, !(text.count == 2 && text[1] == UInt8(ascii: "0")) {
            throw EventDecodingError(.invalidTimestamp("negative: '\(preview(text))'"))
        }
        var value: Int64 = 0
        let limit = EventLimits.maxTimestamp / scale
        for byte in text where byte != UInt8(ascii: "-") {
            value = value * 10 + Int64(byte &- UInt8(ascii: "0"))
            if value > limit {
                throw EventDecodingError(.invalidTimestamp("'\(preview(text))' is after year 9999"))
            }
        }
        return value * scale
    }

    /// Parses a weight written with JSON number syntax; must be finite and within the configured range.
    static func weight(_ text: UnsafeRawBufferPointer, limits: EventLimits) throws(EventDecodingError) -> Float {
        guard let number = JSONNumber.scan(text, from: 0), number.end == text.count else {
            throw EventDecodingError(.invalidWeight("not a number: '\(preview(text))'"))
        }
        let value: Float
        if number.isInteger, text.count <= 7 {
            // Exact in Float (< 2^24) and avoids building a String on the common "1"/"5" path.
            var v = 0
            for byte in text where byte != UInt8(ascii: "-") { v = v * 10 + Int(byte &- UInt8(ascii: "0")) }
            value = Float(number.negative ? -v : v)
        } else {
            // Grammar already checked, so Float's extra syntaxes (hex, "nan", "inf") can't sneak in.
            value = Float(String(decoding: text, as: UTF8.self)) ?? .nan
        }
        guard value.isFinite else {
            throw EventDecodingError(.invalidWeight("not finite: '\(preview(text))'"))
        }
        guard limits.weightRange.contains(value) else {
            throw EventDecodingError(
                .invalidWeight(
                    "\(value) outside \(limits.weightRange.lowerBound)...\(limits.weightRange.upperBound)"
                )
            )
        }
        return value
    }

    /// Short, always-valid rendering of untrusted bytes for error messages.
    static func preview(_ bytes: UnsafeRawBufferPointer, max: Int = 32) -> String {
        let shown = String(decoding: bytes.prefix(max), as: UTF8.self)
        return bytes.count > max ? shown + "…" : shown
    }
}

/// Position and shape of a JSON number literal.
struct JSONNumber {
    var end: Int
    /// No fraction and no exponent.
    var isInteger: Bool
    var negative: Bool

    /// Scans `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` starting at `start`; nil if no valid
    /// number starts there.
    static func scan(_ b: UnsafeRawBufferPointer, from start: Int) -> JSONNumber? {
        var i = start
        let n = b.count
        @inline(__always) func isDigit(_ i: Int) -> Bool { i < n && b[i] &- UInt8(ascii: "0") < 10 }
        let negative = i < n && b[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard isDigit(i) else { return nil }
        if b[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while isDigit(i) { i += 1 }
        }
        var isInteger = true
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
            isInteger = false
        }
        if i < n, b[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard isDigit(i) else { return nil }
            while isDigit(i) { i += 1 }
            isInteger = false
        }
        return JSONNumber(end: i, isInteger: isInteger, negative: negative)
    }
}

/// Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF), so ids are never
/// silently "repaired" into different strings.
enum UTF8Validation {
    static func firstInvalidOffset(_ b: UnsafeRawBufferPointer) -> Int? {
        var i = 0
        let n = b.count
        while i < n {
            let lead = b[i]
            if lead < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0:
                length = 3
                lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED:
                length = 3
                hi = 0x9F
            case 0xF0:
                length = 4
                lo = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4:
                length = 4
                hi = 0x8F
            default: return i
            }
            guard i + length <= n, b[i + 1] >= lo, b[i + 1] <= hi else { return i }
            for k in 2..<length where b[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }
}

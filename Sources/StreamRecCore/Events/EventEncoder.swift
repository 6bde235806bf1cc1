/// Writes events in the wire formats streamrec reads: compact JSON (`schemas/event.schema.json`) and the
/// CSV dialect of ``EventLogReader``. Used by the synthetic generator, tests and tools.
public enum EventEncoder {
    /// One compact JSON object, without a trailing newline. Fields appear as `user, item, ts, type,
    /// weight`; nil fields are omitted, and so is a non-finite weight (it could never be decoded).
    public static func jsonLine(_ event: Event) -> String {
        String(decoding: jsonBytes(event), as: UTF8.self)
    }

    public static func jsonBytes(_ event: Event) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(48 + event.user.utf8.count + event.item.utf8.count)
        appendJSON(event, to: &out)
        return out
    }

    /// Appends the JSON object to `out` (no newline); lets writers reuse one buffer for many events.
    public static func appendJSON(_ event: Event, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"user":"#.utf8)
        JSONOutput.appendString(event.user, to: &out)
        out.append(contentsOf: #","item":"#.utf8)
        JSONOutput.appendString(event.item, to: &out)
        out.append(contentsOf: #","ts":"#.utf8)
        out.append(contentsOf: String(event.timestamp).utf8)
        if let type = event.type {
            out.append(contentsOf: #","type":"#.utf8)
            JSONOutput.appendString(type, to: &out)
        }
        if let weight = event.weight, weight.isFinite {
            out.append(contentsOf: #","weight":"#.utf8)
            JSONOutput.appendFloat(weight, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Header row written by ``appendCSV(_:to:)``; ``EventLogReader`` maps columns by these names.
    public static let csvHeader = "user,item,ts,type,weight"

    /// Appends one CSV row (`user,item,ts,type,weight`, RFC 4180 quoting, `\n`-terminated); nil fields
    /// are left empty.
    public static func appendCSV(_ event: Event, to out: inout [UInt8]) {
        appendCSVField(event.user, to: &out)
        out.append(UInt8(ascii: ","))
        appendCSVField(event.item, to: &out)
        out.append(UInt8(ascii: ","))
        out.append(contentsOf: String(event.timestamp).utf8)
        out.append(UInt8(ascii: ","))
        if let type = event.type { appendCSVField(type, to: &out) }
        out.append(UInt8(ascii: ","))
        if let weight = event.weight, weight.isFinite { JSONOutput.appendFloat(weight, to: &out) }
        out.append(UInt8(ascii: "\n"))
    }

    private static func appendCSVField(_ field: String, to out: inout [UInt8]) {
        // Quote separators, quotes, line breaks, and edge blanks (the reader trims unquoted fields).
        let needsQuotes =
            field.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
            || field.utf8.first.map(EventLogReader.isSpace) == true
            || field.utf8.last.map(EventLogReader.isSpace) == true
        guard needsQuotes else {
            out.append(contentsOf: field.utf8)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in field.utf8 {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Minimal JSON output primitives shared by the event, recommendation and dead-letter encoders.
enum JSONOutput {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends a quoted JSON string: `"` and `\` escaped, control characters as short escapes or
    /// `\u00XX`, everything else as raw UTF-8.
    static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0x0A:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "n"))
            case 0x0D:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "r"))
            case 0x09:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends a finite Float in its shortest round-tripping form (`0.5`, `3.0`, `1e-05`), which is
    /// valid JSON number syntax. Callers must handle non-finite values first.
    static func appendFloat(_ value: Float, to out: inout [UInt8]) {
        precondition(value.isFinite, "non-finite values have no JSON representation")
        out.append(contentsOf: value.description.utf8)
    }
}

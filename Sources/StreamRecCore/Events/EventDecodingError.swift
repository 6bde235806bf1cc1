/// Why an incoming event was rejected. The ``description`` is written verbatim into dead-letter records
/// and log-reader reports, so it names the field, the limit and (for syntax errors) the byte offset.
public struct EventDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The message exceeds ``EventLimits/maxMessageBytes``.
        case tooLarge(bytes: Int, limit: Int)
        /// Not valid UTF-8 at the given byte offset.
        case invalidUTF8(offset: Int)
        /// JSON syntax error (or a JSON document that is not an object) at the given byte offset.
        case malformedJSON(offset: Int, String)
        /// Structural problem in a CSV/TSV record (field count, quoting).
        case malformedRecord(String)
        case missingField(String)
        /// A known field appears twice; rejected because JSON parsers disagree on which value wins.
        case duplicateField(String)
        case wrongType(field: String, expected: String)
        case idTooLong(field: String, bytes: Int, limit: Int)
        case emptyId(field: String)
        /// `type` is empty or longer than ``EventLimits/maxTypeBytes``.
        case invalidType(String)
        case invalidTimestamp(String)
        case invalidWeight(String)
    }

    public var reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    public var description: String {
        switch reason {
        case let .tooLarge(bytes, limit):
            "message too large: \(bytes) bytes (limit \(limit))"
        case let .invalidUTF8(offset):
            "invalid UTF-8 at byte \(offset)"
        case let .malformedJSON(offset, detail):
            "malformed JSON at byte \(offset): \(detail)"
        case let .malformedRecord(detail):
            "malformed record: \(detail)"
        case let .missingField(field):
            "missing required field '\(field)'"
        case let .duplicateField(field):
            "duplicate field '\(field)'"
        case let .wrongType(field, expected):
            "field '\(field)' must be \(expected)"
        case let .idTooLong(field, bytes, limit):
            "field '\(field)' too long: \(bytes) bytes (limit \(limit))"
        case let .emptyId(field):
            "field '\(field)' must not be empty"
        case let .invalidType(detail):
            "invalid 'type': \(detail)"
        case let .invalidTimestamp(detail):
            "invalid 'ts': \(detail)"
        case let .invalidWeight(detail):
            "invalid 'weight': \(detail)"
        }
    }
}

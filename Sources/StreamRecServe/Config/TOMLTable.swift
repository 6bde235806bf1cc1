/// A parsed TOML document, flattened to dotted keys (`kafka.bootstrap_servers`).
///
/// streamrec's config files use a deliberately small TOML subset — `[table]` / `[a.b]` headers,
/// `key = value` with bare or quoted keys, strings (basic with escapes, and literal), integers, floats,
/// booleans, arrays of those, and `#` comments — parsed here rather than pulling a TOML dependency
/// into every build. Anything outside the subset is a clear error with the line number.
public struct TOMLTable: Sendable, Equatable {
    public enum Value: Sendable, Equatable, CustomStringConvertible {
        case string(String)
        case integer(Int64)
        case float(Double)
        case bool(Bool)
        case array([Value])

        public var description: String {
            switch self {
            case .string(let s): "\"\(s)\""
            case .integer(let i): "\(i)"
            case .float(let d): "\(d)"
            case .bool(let b): "\(b)"
            case .array(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
            }
        }
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable, Equatable {
        public var line: Int
        public var message: String
        public var description: String { "config line \(line): \(message)" }
    }

    /// Values by full dotted path; quoted key segments keep their dots (`kafka.properties."sasl.mechanism"`
    /// is stored as `kafka.properties` + `sasl.mechanism`, see ``table(_:)``).
    public private(set) var values: [[String]: Value] = [:]

    public init() {}

    /// A table from already-typed values (e.g. environment overrides), keyed by path.
    init(values: [[String]: Value]) { self.values = values }

    public init(parsing text: String) throws(ParseError) {
        var table: [String] = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = number + 1
            var scanner = Scanner(Array(rawLine.utf8), line: line)
            scanner.skipSpaces()
            if scanner.atEndOrComment { continue }
            if scanner.peek == UInt8(ascii: "[") {
                scanner.advance()
                guard scanner.peek != UInt8(ascii: "[") else { throw ParseError(line: line, message: "arrays of tables are not supported") }
                table = try scanner.key()
                scanner.skipSpaces()
                guard scanner.peek == UInt8(ascii: "]") else { throw ParseError(line: line, message: "expected ']'") }
                scanner.advance()
                scanner.skipSpaces()
                guard scanner.atEndOrComment else { throw ParseError(line: line, message: "unexpected text after table header") }
                continue
            }
            let key = try scanner.key()
            scanner.skipSpaces()
            guard scanner.peek == UInt8(ascii: "=") else { throw ParseError(line: line, message: "expected '=' after key") }
            scanner.advance()
            scanner.skipSpaces()
            let value = try scanner.value()
            scanner.skipSpaces()
            guard scanner.atEndOrComment else { throw ParseError(line: line, message: "unexpected text after value") }
            let path = table + key
            guard values[path] == nil else {
                throw ParseError(line: line, message: "duplicate key '\(path.joined(separator: "."))'")
            }
            values[path] = value
        }
    }

    public subscript(_ path: String...) -> Value? { values[path] }

    /// All key/value pairs directly under `prefix` (e.g. the `kafka.properties` table).
    public func table(_ prefix: [String]) -> [String: Value] {
        var out: [String: Value] = [:]
        for (path, value) in values where path.count == prefix.count + 1 && Array(path.prefix(prefix.count)) == prefix {
            out[path.last!] = value
        }
        return out
    }

    private struct Scanner {
        let bytes: [UInt8]
        var i = 0
        let line: Int

        init(_ bytes: [UInt8], line: Int) {
            var b = bytes
            if b.last == UInt8(ascii: "\r") { b.removeLast() }
            self.bytes = b
            self.line = line
        }

        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }
        var atEndOrComment: Bool { peek == nil || peek == UInt8(ascii: "#") }
        mutating func advance() { i += 1 }
        mutating func skipSpaces() { while peek == UInt8(ascii: " ") || peek == UInt8(ascii: "\t") { i += 1 } }

        func fail(_ message: String) -> ParseError { ParseError(line: line, message: message) }

        mutating func key() throws(ParseError) -> [String] {
            var parts: [String] = []
            while true {
                skipSpaces()
                if peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "'") {
                    parts.append(try string())
                } else {
                    let start = i
                    while let c = peek, isBareKey(c) { i += 1 }
                    guard i > start else { throw fail("expected a key") }
                    parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
                }
                skipSpaces()
                guard peek == UInt8(ascii: ".") else { return parts }
                advance()
            }
        }

        func isBareKey(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }

        mutating func string() throws(ParseError) -> String {
            let quote = bytes[i]
            advance()
            var out: [UInt8] = []
            while let c = peek {
                advance()
                if c == quote { return String(decoding: out, as: UTF8.self) }
                if c == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") {
                    guard let e = peek else { break }
                    advance()
                    switch e {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                    case UInt8(ascii: "u"):
                        guard i + 4 <= bytes.count, let scalar = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16),
                              let u = Unicode.Scalar(scalar)
                        else { throw fail("bad \\u escape") }
                        i += 4
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default: throw fail("unsupported escape '\\\(Character(Unicode.Scalar(e)))'")
                    }
                } else {
                    out.append(c)
                }
            }
            throw fail("unterminated string")
        }

        mutating func value() throws(ParseError) -> Value {
            guard let c = peek else { throw fail("missing value") }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") { return .string(try string()) }
            if c == UInt8(ascii: "[") {
                advance()
                var items: [Value] = []
                while true {
                    skipSpaces()
                    if peek == UInt8(ascii: "]") { advance(); return .array(items) }
                    items.append(try value())
                    skipSpaces()
                    if peek == UInt8(ascii: ",") { advance(); continue }
                    guard peek == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in array (arrays must fit on one line)") }
                }
            }
            let start = i
            while let c = peek, c != UInt8(ascii: ","), c != UInt8(ascii: "]"), c != UInt8(ascii: "#"),
                  c != UInt8(ascii: " "), c != UInt8(ascii: "\t") { i += 1 }
            let token = String(decoding: bytes[start..<i], as: UTF8.self)
            if token == "true" { return .bool(true) }
            if token == "false" { return .bool(false) }
            let digits = token.replacingOccurrences(of: "_", with: "")
            if let n = Int64(digits) { return .integer(n) }
            if let d = Double(digits), d.isFinite { return .float(d) }
            throw fail("unsupported value '\(token)' (strings must be quoted)")
        }
    }
}

import Foundation

public import Foundation

/// A JSON value with JSON Schema's type distinctions (booleans apart from numbers, integers as numbers
/// with a zero fractional part), built from `JSONSerialization` output.
public enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(parsing bytes: some Sequence<UInt8>) throws {
        self = try JSONValue(any: JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed))
    }

    public init(parsing text: String) throws { try self.init(parsing: Array(text.utf8)) }

    public init(any: Any) throws {
        switch any {
        case is NSNull: self = .null
        case let string as String: self = .string(string)
        case let number as NSNumber:
            self = String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number.doubleValue)
        case let array as [Any]: self = .array(try array.map(JSONValue.init(any:)))
        case let object as [String: Any]: self = .object(try object.mapValues(JSONValue.init(any:)))
        default: throw JSONSchemaValidator.SchemaError("unsupported JSON value \(type(of: any))")
        }
    }

    var typeNames: Set<String> {
        switch self {
        case .null: ["null"]
        case .bool: ["boolean"]
        case let .number(n): n.rounded() == n ? ["number", "integer"] : ["number"]
        case .string: ["string"]
        case .array: ["array"]
        case .object: ["object"]
        }
    }
}

/// The subset of JSON Schema 2020-12 our schemas use: type (incl. arrays of types), required, properties,
/// additionalProperties, items, minLength, maxLength, minimum, maximum, enum, const, $ref to $defs,
/// oneOf, anyOf, minItems, maxItems. Annotations are ignored; any other keyword is an error, so a schema
/// can never silently rely on a check this validator doesn't make.
public struct JSONSchemaValidator {
    public struct SchemaError: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public let root: JSONValue

    static let annotations: Set<String> = [
        "$schema", "$id", "$comment", "title", "description", "examples", "default", "contentEncoding", "$defs",
    ]

    public init(schema: JSONValue) { root = schema }

    public init(contentsOf url: URL) throws {
        root = try JSONValue(parsing: Data(contentsOf: url))
    }

    /// Violations of `instance` against the schema, as `path: message`; empty when valid.
    public func errors(_ instance: JSONValue) throws -> [String] {
        var errors: [String] = []
        try validate(instance, against: root, path: "$", into: &errors)
        return errors
    }

    public func isValid(_ instance: JSONValue) throws -> Bool { try errors(instance).isEmpty }

    private func resolve(_ reference: String) throws -> JSONValue {
        let prefix = "#/$defs/"
        guard reference.hasPrefix(prefix), case let .object(rootObject) = root,
            case let .object(defs)? = rootObject["$defs"], let target = defs[String(reference.dropFirst(prefix.count))]
        else { throw SchemaError("unresolvable $ref \(reference)") }
        return target
    }

    private func validate(
        _ value: JSONValue,
        against schema: JSONValue,
        path: String,
        into errors: inout [String]
    ) throws {
        if case let .bool(allowed) = schema {
            if !allowed { errors.append("\(path): not allowed") }
            return
        }
        guard case let .object(keywords) = schema else { throw SchemaError("schema at \(path) is not an object") }
        for (keyword, argument) in keywords.sorted(by: { $0.key < $1.key }) {
            func fail(_ message: String) { errors.append("\(path): \(message)") }
            switch (keyword, argument) {
            case _ where Self.annotations.contains(keyword):
                continue
            case let ("type", .string(name)):
                if !value.typeNames.contains(name) { fail("expected \(name)") }
            case let ("type", .array(names)):
                if !names.contains(where: { if case let .string(n) = $0 { value.typeNames.contains(n) } else { false } }
                ) {
                    fail("expected one of \(names)")
                }
            case let ("required", .array(names)):
                guard case let .object(members) = value else { continue }
                for case let .string(name) in names where members[name] == nil { fail("missing '\(name)'") }
            case let ("properties", .object(properties)):
                guard case let .object(members) = value else { continue }
                for (name, subschema) in properties {
                    if let member = members[name] {
                        try validate(member, against: subschema, path: "\(path).\(name)", into: &errors)
                    }
                }
            case ("additionalProperties", _):
                guard case let .object(members) = value else { continue }
                let known: [String: JSONValue] = if case let .object(p)? = keywords["properties"] { p } else { [:] }
                for (name, member) in members where known[name] == nil {
                    try validate(member, against: argument, path: "\(path).\(name)", into: &errors)
                }
            case ("items", _):
                guard case let .array(elements) = value else { continue }
                for (index, element) in elements.enumerated() {
                    try validate(element, against: argument, path: "\(path)[\(index)]", into: &errors)
                }
            case let ("minItems", .number(bound)):
                if case let .array(elements) = value, Double(elements.count) < bound {
                    fail("fewer than \(Int(bound)) items")
                }
            case let ("maxItems", .number(bound)):
                if case let .array(elements) = value, Double(elements.count) > bound {
                    fail("more than \(Int(bound)) items")
                }
            case let ("minLength", .number(bound)):
                if case let .string(s) = value, Double(s.unicodeScalars.count) < bound {
                    fail("shorter than \(Int(bound))")
                }
            case let ("maxLength", .number(bound)):
                if case let .string(s) = value, Double(s.unicodeScalars.count) > bound {
                    fail("longer than \(Int(bound))")
                }
            case let ("minimum", .number(bound)):
                if case let .number(n) = value, n < bound { fail("\(n) < minimum \(bound)") }
            case let ("maximum", .number(bound)):
                if case let .number(n) = value, n > bound { fail("\(n) > maximum \(bound)") }
            case let ("enum", .array(options)):
                if !options.contains(value) { fail("not one of the enumerated values") }
            case ("const", _):
                if value != argument { fail("not the constant value") }
            case let ("$ref", .string(reference)):
                try validate(value, against: resolve(reference), path: path, into: &errors)
            case let ("anyOf", .array(subschemas)), let ("oneOf", .array(subschemas)):
                var matches = 0
                for subschema in subschemas {
                    var scratch: [String] = []
                    try validate(value, against: subschema, path: path, into: &scratch)
                    if scratch.isEmpty { matches += 1 }
                }
                if keyword == "anyOf", matches == 0 { fail("matches none of anyOf") }
                if keyword == "oneOf", matches != 1 { fail("matches \(matches) of oneOf (need exactly 1)") }
            default:
                throw SchemaError("unsupported keyword '\(keyword)' at \(path)")
            }
        }
    }
}

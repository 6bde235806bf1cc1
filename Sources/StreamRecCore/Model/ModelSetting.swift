import Foundation

/// One ``ModelConfig`` field, described once: its name, type, valid values, command-line flag and help.
/// ``ModelSettings/all`` lists one per field; validation, JSON coding (snapshots, reports), the config
/// file and environment reader, the CLI flags' help, the example YAML and the docs table are all derived
/// from these rows, so a setting is added by declaring its field and one row.
public struct ModelSetting: Sendable {
    /// The field's type and a key path to it: readers, coders and the round-trip test switch on this.
    public enum Field: Sendable {
        case int(any WritableKeyPath<ModelConfig, Int> & Sendable)
        case float(any WritableKeyPath<ModelConfig, Float> & Sendable)
        case double(any WritableKeyPath<ModelConfig, Double> & Sendable)
        case bool(any WritableKeyPath<ModelConfig, Bool> & Sendable)
        /// Read as text so the full range works from YAML, environment and flags alike.
        case uint64(any WritableKeyPath<ModelConfig, UInt64> & Sendable)
        /// Event time in milliseconds; its text may carry a unit (`90s`, `6h`, `2d`), see ``EventTimeSpan``.
        case span(any WritableKeyPath<ModelConfig, Int64> & Sendable)
        /// An enum stored by its raw value.
        case choice(Choice)
    }

    /// An enum field seen through its raw values, so one row type holds every enum.
    public struct Choice: Sendable {
        public let names: [String]
        public let get: @Sendable (ModelConfig) -> String
        /// False when `name` is not a case.
        public let set: @Sendable (inout ModelConfig, String) -> Bool
    }

    /// What a valid value is: `text` for messages and docs (`1...1024`, `(0, 10]`), `holds` to check it.
    public struct Rule: Sendable {
        public let text: String
        let holds: @Sendable (ModelConfig) -> Bool
        static let any = Rule(text: "", holds: { _ in true })
    }

    /// Swift property name; also the key in the config JSON that snapshots and reports carry.
    public let name: String
    public let field: Field
    public let rule: Rule
    /// Long command-line flag without dashes (e.g. `lr`) of replay, tune and http-demo; nil = file and
    /// environment only.
    public let flag: String?
    public let help: String

    /// Key under `model.` in the config file: ``name`` in snake_case (`learningRate` → `learning_rate`,
    /// `userTTL` → `user_ttl`).
    public var key: String { Self.snakeCase(name) }

    /// `STREAMREC_MODEL_<KEY>`.
    public var environmentName: String { "STREAMREC_MODEL_" + key.uppercased() }

    /// The field's value as the config file spells it.
    public func show(_ c: ModelConfig) -> String {
        switch field {
        case .int(let p): "\(c[keyPath: p])"
        case .float(let p): "\(c[keyPath: p])"
        case .double(let p): "\(c[keyPath: p])"
        case .bool(let p): "\(c[keyPath: p])"
        case .uint64(let p): "\(c[keyPath: p])"
        case .span(let p): "\(c[keyPath: p])"
        case .choice(let choice): choice.get(c)
        }
    }

    /// Valid values as docs and comments say them: a range, or the choices.
    var validText: String {
        if case .choice(let choice) = field { return choice.names.joined(separator: ", ") }
        return rule.text
    }

    /// ``help``, plus how a span is written.
    var unitHelp: String {
        if case .span = field { return help + " Milliseconds, or with a unit: 90s, 30m, 6h, 2d." }
        return help
    }

    /// ``unitHelp`` with the valid values, for `--help`.
    var longHelp: String {
        if case .choice(let choice) = field { return "\(unitHelp) One of: \(choice.names.joined(separator: ", "))." }
        return rule.text.isEmpty ? unitHelp : "\(unitHelp) Valid: \(rule.text)."
    }

    /// Throws when the field's value breaks ``rule``.
    func validate(_ c: ModelConfig) throws(ConfigError) {
        if !rule.holds(c) {
            throw ConfigError(
                field: name,
                message: rule.text.hasPrefix(">") ? "must be \(rule.text)" : "must be in \(rule.text)"
            )
        }
    }

    static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousUpper = true
        for c in name {
            if c.isUppercase {
                if !previousUpper { out += "_" }
                out += c.lowercased()
                previousUpper = true
            } else {
                out.append(c)
                previousUpper = false
            }
        }
        return out
    }
}

// MARK: Rows

extension ModelSetting {
    /// Another field that bounds this one from above, e.g. `historyLength - 1`.
    public struct FieldBound: Sendable {
        let name: String
        let path: any KeyPath<ModelConfig, Int> & Sendable
        let offset: Int
        var text: String { offset == 0 ? name : "\(name) - \(-offset)" }
    }

    /// An integer in `range`, and at most `bound` if given.
    static func int(
        _ name: String,
        _ path: any WritableKeyPath<ModelConfig, Int> & Sendable,
        in range: ClosedRange<Int>,
        atMost bound: FieldBound? = nil,
        flag: String?,
        _ help: String
    ) -> Self {
        var upper = "\(range.upperBound)"
        if let bound {
            upper = range.upperBound == Int.max ? bound.text : "min(\(range.upperBound), \(bound.text))"
        }
        let rule = Rule(text: "\(range.lowerBound)...\(upper)") { c in
            let v = c[keyPath: path]
            return range.contains(v) && (bound.map { v <= c[keyPath: $0.path] + $0.offset } ?? true)
        }
        return Self(name: name, field: .int(path), rule: rule, flag: flag, help: help)
    }

    static func float(
        _ name: String,
        _ path: any WritableKeyPath<ModelConfig, Float> & Sendable,
        in interval: Interval<Float>,
        flag: String?,
        _ help: String
    ) -> Self {
        let rule = Rule(text: interval.text) { interval.contains($0[keyPath: path]) }
        return Self(name: name, field: .float(path), rule: rule, flag: flag, help: help)
    }

    static func double(
        _ name: String,
        _ path: any WritableKeyPath<ModelConfig, Double> & Sendable,
        in interval: Interval<Double>,
        flag: String?,
        _ help: String
    ) -> Self {
        let rule = Rule(text: interval.text) { interval.contains($0[keyPath: path]) }
        return Self(name: name, field: .double(path), rule: rule, flag: flag, help: help)
    }

    static func bool(
        _ name: String,
        _ path: any WritableKeyPath<ModelConfig, Bool> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self {
        Self(name: name, field: .bool(path), rule: .any, flag: flag, help: help)
    }

    static func uint64(
        _ name: String,
        _ path: any WritableKeyPath<ModelConfig, UInt64> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self {
        Self(name: name, field: .uint64(path), rule: .any, flag: flag, help: help)
    }

    /// A span of event time, >= 0.
    static func span(
        _ name: String,
        _ path: any WritableKeyPath<ModelConfig, Int64> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self {
        let rule = Rule(text: ">= 0") { $0[keyPath: path] >= 0 }
        return Self(name: name, field: .span(path), rule: rule, flag: flag, help: help)
    }

    static func choice<E: RawRepresentable & CaseIterable & Sendable>(
        _ name: String,
        _ path: any WritableKeyPath<ModelConfig, E> & Sendable,
        flag: String?,
        _ help: String
    ) -> Self where E.RawValue == String {
        let choice = Choice(
            names: E.allCases.map(\.rawValue),
            get: { $0[keyPath: path].rawValue },
            set: { c, name in
                guard let value = E(rawValue: name) else { return false }
                c[keyPath: path] = value
                return true
            }
        )
        return Self(name: name, field: .choice(choice), rule: .any, flag: flag, help: help)
    }

    /// A range of finite floating-point values, each end open or closed, written `(0, 10]`.
    struct Interval<V: BinaryFloatingPoint & Sendable>: Sendable {
        let lower: V
        let upper: V
        let openLower: Bool
        let openUpper: Bool

        static func closed(_ lower: V, _ upper: V) -> Self {
            Self(lower: lower, upper: upper, openLower: false, openUpper: false)
        }
        static func openClosed(_ lower: V, _ upper: V) -> Self {
            Self(lower: lower, upper: upper, openLower: true, openUpper: false)
        }
        static func closedOpen(_ lower: V, _ upper: V) -> Self {
            Self(lower: lower, upper: upper, openLower: false, openUpper: true)
        }

        func contains(_ v: V) -> Bool {
            v.isFinite && (openLower ? v > lower : v >= lower) && (openUpper ? v < upper : v <= upper)
        }

        var text: String {
            func number(_ v: V) -> String { v.rounded() == v ? "\(Int(v))" : "\(Double(v))" }
            return "\(openLower ? "(" : "[")\(number(lower)), \(number(upper))\(openUpper ? ")" : "]")"
        }
    }
}

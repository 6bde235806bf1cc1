import Foundation
import Yams

/// The YAML config file's own keys, listed so unknown ones can be refused (swift-configuration reads
/// the values; it has no notion of a key nobody asked for). A TOML file — the format before YAML — is
/// refused with a note on how to convert it.
struct ConfigFile {
    let path: String
    /// Dotted leaf keys outside the free-form tables, e.g. `kafka.bootstrap_servers`.
    private(set) var keys: Set<String> = []
    /// Names found under the free-form tables (librdkafka properties, event types).
    private(set) var tables = ConfigTables()

    var hasValues: Bool { !keys.isEmpty || tables != ConfigTables() }

    init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServeConfigError("cannot read config file \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        if path.lowercased().hasSuffix(".toml") || Self.looksLikeTOML(text) {
            throw ServeConfigError(
                """
                config file \(path) is TOML, but the config format is now YAML (same section and key names): \
                `[kafka]` + `bootstrap_servers = "host:9092"` becomes `kafka:` + `  bootstrap_servers: "host:9092"`; \
                `[kafka.properties]` + `"sasl.mechanism" = "PLAIN"` becomes `kafka:` + `  properties:` + `    sasl.mechanism: PLAIN`. \
                See deploy/streamrec.yaml.
                """
            )
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ServeConfigError("config file \(path) is not valid YAML: \(error)")
        }
        guard let root, !Self.isNull(root) else { return }
        guard case .mapping = root else {
            throw ServeConfigError(
                "config file \(path): the top level must be a mapping of sections (kafka:, model:, ...)"
            )
        }
        try walk(root, [])
    }

    private mutating func walk(_ node: Node, _ path: [String]) throws {
        let dotted = path.joined(separator: ".")
        if let table = ConfigSources.tables[dotted] {
            if !Self.isNull(node) { try collect(node, [], into: table) }
            return
        }
        guard case .mapping(let mapping) = node else {
            // `kafka:` with everything commented out is an empty section, not a value.
            if Self.isNull(node) && (path.count == 1 && ConfigSources.sections.contains(dotted)) { return }
            keys.insert(dotted)
            return
        }
        for (key, value) in mapping {
            guard let name = key.string else {
                throw ServeConfigError("config file \(path): a key under '\(dotted)' is not text")
            }
            try walk(value, path + [name])
        }
    }

    /// Every leaf below a free-form table, dotted (`sasl.mechanism`, or `sasl:` + `mechanism:`).
    private mutating func collect(_ node: Node, _ path: [String], into table: ConfigTables.Table) throws {
        guard case .mapping(let mapping) = node else {
            if !path.isEmpty { tables[keyPath: table].insert(path.joined(separator: ".")) }
            return
        }
        for (key, value) in mapping {
            guard let name = key.string else {
                throw ServeConfigError("config file \(self.path): a table key is not text")
            }
            try collect(value, path + [name], into: table)
        }
    }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A `[section]` header line: TOML, not YAML (where it would be a one-element list).
    static func looksLikeTOML(_ text: String) -> Bool {
        text.split(separator: "\n").contains { line in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("["), t.hasSuffix("]"), t.count > 2 else { return false }
            return t.dropFirst().dropLast().allSatisfy {
                $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-"
            }
        }
    }
}

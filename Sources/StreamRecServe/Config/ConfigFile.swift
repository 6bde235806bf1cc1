import Foundation
import StreamRecCore
import Yams

/// The YAML config file's own keys, listed so unknown ones can be refused (swift-configuration reads
/// the values; it has no notion of a key nobody asked for). A TOML file — the format before YAML — is
/// refused with a note on how to convert it.
///
/// The file is operator input, possibly hostile or a mistake (a log file passed as `--config`): its size,
/// each value's length, each free-form table's entry count and the number of nodes walked (YAML aliases
/// expand) are capped before swift-configuration or librdkafka see anything.
struct ConfigFile {
    /// Real config files are a few KB; 1 MiB leaves room for inline PEM certificates.
    static let maxFileBytes = 1 << 20
    /// One value (a certificate chain in `ssl.ca.pem` is the longest expected).
    static let maxValueBytes = 64 << 10
    /// Entries of one free-form table (librdkafka has a few hundred properties in all).
    static let maxTableEntries = 1_000
    /// Nodes walked, counting each expansion of a YAML alias, so an alias bomb stops early.
    static let maxNodes = 100_000

    let path: String
    /// Dotted leaf keys outside the free-form tables, e.g. `kafka.bootstrap_servers`.
    private(set) var keys: Set<String> = []
    /// Names found under the free-form tables (librdkafka properties, event types).
    private(set) var tables = ConfigTables()
    private var nodes = 0

    var hasValues: Bool { !keys.isEmpty || tables != ConfigTables() }

    init(path: String) throws {
        self.path = path
        let text = String(decoding: try Self.read(path), as: UTF8.self)
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
        try count(path)
        let dotted = path.joined(separator: ".")
        if let table = ConfigSources.tables[dotted] {
            if !Self.isNull(node) { try collect(node, [], into: table, named: dotted) }
            return
        }
        guard case .mapping(let mapping) = node else {
            // `kafka:` with everything commented out is an empty section, not a value.
            if Self.isNull(node) && (path.count == 1 && ConfigSources.sections.contains(dotted)) { return }
            try checkLeaf(node, dotted)
            keys.insert(dotted)
            return
        }
        for (key, value) in mapping {
            guard let name = key.string else {
                throw ServeConfigError("config file \(self.path): a key under '\(dotted)' is not text")
            }
            // Checked here so an empty unknown section (`kafka2: {}`) is refused too.
            if path.isEmpty && !ConfigSources.sections.contains(name) {
                throw ServeConfigError(
                    "unknown config section '\(name)' in \(self.path) (sections: \(ConfigSources.sections.sorted().joined(separator: ", ")))"
                )
            }
            try walk(value, path + [name])
        }
    }

    /// Every leaf below a free-form table, dotted (`sasl.mechanism`, or `sasl:` + `mechanism:`).
    private mutating func collect(
        _ node: Node,
        _ path: [String],
        into table: ConfigTables.Table,
        named tableName: String
    ) throws {
        try count(path)
        guard case .mapping(let mapping) = node else {
            if !path.isEmpty {
                let name = path.joined(separator: ".")
                try checkLeaf(node, tableName + "." + name)
                tables[keyPath: table].insert(name)
                if tables[keyPath: table].count > Self.maxTableEntries {
                    throw ServeConfigError(
                        "config file \(self.path): '\(tableName)' has more than \(Self.maxTableEntries) entries"
                    )
                }
            }
            return
        }
        for (key, value) in mapping {
            guard let name = key.string else {
                throw ServeConfigError("config file \(self.path): a key under '\(tableName)' is not text")
            }
            try collect(value, path + [name], into: table, named: tableName)
        }
    }

    private mutating func count(_ path: [String]) throws {
        nodes += 1
        guard nodes <= Self.maxNodes else {
            throw ServeConfigError(
                "config file \(self.path): more than \(Self.maxNodes) values (YAML aliases count once per use), "
                    + "at '\(path.joined(separator: "."))'"
            )
        }
    }

    /// A value is a scalar or a list of scalars (what swift-configuration reads), each of bounded length.
    private func checkLeaf(_ node: Node, _ key: String) throws {
        let scalars: [Node.Scalar]
        switch node {
        case .scalar(let scalar): scalars = [scalar]
        case .sequence(let sequence):
            scalars = try sequence.map { element in
                guard case .scalar(let scalar) = element else {
                    throw ServeConfigError(
                        "config file \(path): '\(key)' is a list of lists or mappings; a value is text, a number, "
                            + "true/false or a list of those"
                    )
                }
                return scalar
            }
        case .mapping, .alias: return
        }
        for scalar in scalars where scalar.string.utf8.count > Self.maxValueBytes {
            // The value itself is not quoted: it may be a secret.
            throw ServeConfigError(
                "config file \(path): the value of '\(key)' is \(scalar.string.utf8.count) bytes; "
                    + "values are limited to \(Self.maxValueBytes) bytes"
            )
        }
    }

    /// The file's bytes, refusing anything but a regular file of at most ``maxFileBytes`` (a FIFO or a
    /// device would block or never end).
    static func read(_ path: String) throws -> Data {
        switch FileKind(path: path) {
        case .regular(let size) where size > maxFileBytes:
            throw ServeConfigError("config file \(path) is \(size) bytes; the limit is \(maxFileBytes) bytes")
        case .regular: break
        case .unreadable(let reason): throw ServeConfigError("cannot read config file \(path): \(reason)")
        case let kind: throw ServeConfigError("config file \(path) is not a regular file: it is \(kind)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ServeConfigError("cannot read config file \(path)")
        }
        defer { try? handle.close() }
        // One byte past the limit: the file may have grown since it was looked at.
        let data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        guard data.count <= maxFileBytes else {
            throw ServeConfigError("config file \(path) is over \(maxFileBytes) bytes, the limit")
        }
        return data
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

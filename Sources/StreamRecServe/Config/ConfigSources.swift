public import Configuration
import Foundation
import StreamRecCore
import StreamRecKafka
import SystemPackage
import Yams

/// Where settings come from, highest precedence first: command-line flags, `STREAMREC_*` environment
/// variables, the YAML file given to `--config`, then built-in defaults. One swift-configuration
/// `ConfigReader` over all of them feeds every `init(reader:)`; `serve`, `replay`, `tune` and
/// `http-demo` share it, so a backtest reads the production file.
///
/// swift-configuration returns a default for a value it can't convert and never complains about keys
/// nobody reads; a config typo must stop the process at start-up instead, so an access reporter
/// collects conversion errors and the keys read, and the file's and environment's keys are checked
/// against the keys read.
public struct ConfigSources: Sendable {
    /// Values of command-line flags by config key (`model.factors` → `"16"`), parsed like environment text.
    public var flags: [String: String]
    /// The process environment; only `STREAMREC_*` names are looked at.
    public var environment: [String: String]
    /// YAML config file (`--config`).
    public var filePath: String?
    /// serve: a `STREAMREC_<section>_<key>` variable naming no setting is an error. Commands that read
    /// only some sections (replay, tune, http-demo) leave the environment's other names alone.
    public var rejectUnknownEnvironment: Bool
    /// Also told about every access (tests: a `FileAccessLogger`, to check what would be logged).
    public var accessReporter: (any AccessReporter)?

    public init(
        flags: [String: String] = [:],
        environment: [String: String] = [:],
        filePath: String? = nil,
        rejectUnknownEnvironment: Bool = true,
        accessReporter: (any AccessReporter)? = nil
    ) {
        self.flags = flags
        self.environment = environment
        self.filePath = filePath
        self.rejectUnknownEnvironment = rejectUnknownEnvironment
        self.accessReporter = accessReporter
    }

    /// Top-level sections of the file; `STREAMREC_<SECTION>_*` variables of other sections are ignored.
    static let sections: Set<String> = [
        "kafka", "model", "weights", "snapshots", "http", "serve", "logging", "limits", "sync", "changelog",
    ]
    /// Free-form tables: any key below them is accepted (librdkafka property names, event types).
    static let tables: [String: ConfigTables.Table] = [
        "kafka.properties": \.properties, "kafka.consumer_properties": \.consumerProperties,
        "kafka.producer_properties": \.producerProperties, "weights": \.weightTypes,
    ]
    /// Environment prefixes of those tables. `STREAMREC_KAFKA_PROP_` is the short form kept from the
    /// TOML era (deployed Secrets use it): `STREAMREC_KAFKA_PROP_SASL_PASSWORD` → `sasl.password`.
    static let environmentTables: [(prefix: String, table: ConfigTables.Table, dots: Bool)] = [
        ("STREAMREC_KAFKA_PROPERTIES_", \.properties, true), ("STREAMREC_KAFKA_PROP_", \.properties, true),
        ("STREAMREC_KAFKA_CONSUMER_PROPERTIES_", \.consumerProperties, true),
        ("STREAMREC_KAFKA_PRODUCER_PROPERTIES_", \.producerProperties, true),
        ("STREAMREC_WEIGHTS_", \.weightTypes, false),
    ]

    /// The environment-variable name of a config key: `STREAMREC_` + the key in upper case with every
    /// `.` (and any other character that is not a letter or digit) as `_`.
    public static func environmentName(of key: String) -> String {
        "STREAMREC_" + String(key.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// Credential-like names (password, secret, token, ssl.key, sasl.jaas, …) in any spelling.
    static func isSecretName(_ name: String) -> Bool {
        KafkaConfig.isSecret(name.lowercased().replacingOccurrences(of: "_", with: "."))
    }
}

extension ServeConfig {
    /// Loads `path` (if given), then `STREAMREC_*` variables from `environment`; validated.
    public static func load(path: String?, environment: [String: String]) async throws -> ServeConfig {
        try await load(ConfigSources(environment: environment, filePath: path))
    }

    /// Values from the environment and flags are bounded like the file's (``ConfigFile/maxValueBytes``);
    /// the message names the source, never the value (it may be a secret).
    static func checkLength(_ value: String, of source: String) throws {
        guard value.utf8.count > ConfigFile.maxValueBytes else { return }
        throw ServeConfigError(
            "\(source) is \(value.utf8.count) bytes; values are limited to \(ConfigFile.maxValueBytes) bytes"
        )
    }

    /// Reads every source through one `ConfigReader`, refuses unknown keys and wrong types, validates.
    public static func load(_ sources: ConfigSources) async throws -> ServeConfig {
        let file = try sources.filePath.map { try ConfigFile(path: $0) }
        var tables = file?.tables ?? ConfigTables()

        // Environment: Kubernetes service links and other sections' names are set aside (reported).
        var environment: [String: String] = [:]
        var ignored: [String] = []
        for (name, value) in sources.environment.sorted(by: { $0.key < $1.key })
        where name.hasPrefix("STREAMREC_") && name != LoggingBootstrap.environmentVariable {
            let section = name.dropFirst("STREAMREC_".count).split(separator: "_").first.map { $0.lowercased() } ?? ""
            guard ConfigSources.sections.contains(section), !isServiceLink(name: name, value: value) else {
                ignored.append(name)
                continue
            }
            try Self.checkLength(value, of: "environment variable \(name)")
            environment[name] = value
            for entry in ConfigSources.environmentTables
            where name.hasPrefix(entry.prefix) && name.count > entry.prefix.count {
                let rest = name.dropFirst(entry.prefix.count).lowercased()
                tables[keyPath: entry.table].insert(entry.dots ? rest.replacingOccurrences(of: "_", with: ".") : rest)
                break
            }
        }

        for (key, value) in sources.flags { try Self.checkLength(value, of: "the command-line value of \(key)") }
        let secret = SecretsSpecifier<String, String>.dynamic { name, _ in ConfigSources.isSecretName(name) }
        let flagVariables = Dictionary(
            uniqueKeysWithValues: sources.flags.map { (ConfigSources.environmentName(of: $0.key), $0.value) }
        )
        let variables = EnvironmentVariablesProvider(environmentVariables: environment, secretsSpecifier: secret)
        var providers: [any ConfigProvider] = [
            NamedProvider(
                "command-line flags",
                EnvironmentVariablesProvider(environmentVariables: flagVariables, secretsSpecifier: secret)
                    .prefixKeys(with: "streamrec")
            ),
            // Keys seen with the `streamrec.` prefix: `kafka.group_id` → STREAMREC_KAFKA_GROUP_ID.
            NamedProvider("environment", variables.prefixKeys(with: "streamrec")),
            // STREAMREC_KAFKA_PROP_<NAME>, the short form of STREAMREC_KAFKA_PROPERTIES_<NAME>.
            NamedProvider(
                "environment (STREAMREC_KAFKA_PROP_*)",
                variables.mapKeys { key in
                    let c = key.components
                    guard c.count > 2, c[0] == "kafka", c[1] == "properties" else { return ["streamrec", "-"] }
                    return AbsoluteConfigKey(["streamrec", "kafka", "prop"] + c.dropFirst(2))
                }
            ),
        ]
        if let file, file.hasValues {
            let provider: FileProvider<YAMLSnapshot>
            do {
                provider = try await FileProvider<YAMLSnapshot>(
                    parsingOptions: .init(secretsSpecifier: .dynamic { key, _ in ConfigSources.isSecretName(key) }),
                    filePath: FilePath(file.path)
                )
            } catch {
                throw ServeConfigError("config file \(file.path): \(error)")
            }
            providers.append(NamedProvider(file.path, provider))
        }

        let audit = ConfigAudit()
        let reporter: any AccessReporter =
            sources.accessReporter.map { BroadcastingAccessReporter(upstreams: [audit, $0]) } ?? audit
        let reader = ConfigReader(providers: providers, accessReporter: reporter)
        var config = try ServeConfig(reader: reader, tables: tables)
        if let error = audit.errors.first { throw ServeConfigError(error) }

        let known = audit.keysRead
        if let file, let unknown = file.keys.sorted().first(where: { !known.contains($0) }) {
            throw ServeConfigError("unknown config key '\(unknown)' in \(file.path)")
        }
        if sources.rejectUnknownEnvironment {
            let knownNames = Set(known.map(ConfigSources.environmentName(of:)))
            for name in environment.keys.sorted()
            where !knownNames.contains(name) && !name.hasPrefix("STREAMREC_KAFKA_PROP_") {
                throw ServeConfigError(
                    "environment variable \(name): unknown config key (names are STREAMREC_ + the key with '.' as '_')"
                )
            }
        }
        config.ignoredEnvironment = ignored
        try config.validate()
        return config
    }
}

/// Collects what the reader did: keys read, and values present but not convertible (wrong type), which
/// swift-configuration's non-throwing getters would otherwise replace by the default silently.
final class ConfigAudit: AccessReporter, @unchecked Sendable {
    private let lock = NSLock()
    private var read: Set<String> = []
    private var failures: [String] = []

    var keysRead: Set<String> { lock.withLock { read } }
    var errors: [String] { lock.withLock { failures } }

    func report(_ event: AccessEvent) {
        let key = event.metadata.key.components.joined(separator: ".")
        var failure: String?
        if let failed = event.providerResults.first(where: { if case .failure = $0.result { true } else { false } }) {
            // No value in the message: it may be a secret.
            failure =
                "\(key) has a value of the wrong type in \(failed.providerName) (expected \(Self.describe(event.metadata.valueType)))"
        } else if event.conversionError != nil {
            failure = "\(key) can't be read as \(Self.describe(event.metadata.valueType))"
        }
        lock.withLock {
            read.insert(key)
            if let failure { failures.append(failure) }
        }
    }

    static func describe(_ type: ConfigType) -> String {
        switch type {
        case .int: "an integer"
        case .double: "a number"
        case .bool: "true or false"
        case .stringArray: "a list of strings"
        default: "\(type)"
        }
    }
}

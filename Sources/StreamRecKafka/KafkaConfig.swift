import Foundation

/// librdkafka client properties, passed through verbatim (see librdkafka's CONFIGURATION.md), so
/// anything librdkafka supports — `security.protocol`, `sasl.*`, `ssl.*`, `compression.type` —
/// works without wrapper changes. Typed accessors cover the properties streamrec sets itself.
///
/// Secret values never leave this type in text form: `description`, `debugDescription`, `dump()`
/// and errors show `[REDACTED]` for keys that look secret (see `isSecret(_:)`).
public struct KafkaConfig: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Every property, keyed by its librdkafka name.
    public var properties: [String: String]

    public init(_ properties: [String: String] = [:]) {
        self.properties = properties
    }

    /// The usual starting point: brokers plus optional extra properties.
    public init(bootstrapServers: String, properties: [String: String] = [:]) {
        self.properties = properties
        self.bootstrapServers = bootstrapServers
    }

    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// `bootstrap.servers`: comma-separated `host:port` list.
    public var bootstrapServers: String? {
        get { properties["bootstrap.servers"] }
        set { properties["bootstrap.servers"] = newValue }
    }

    /// `client.id`: shows up in broker logs and quotas.
    public var clientID: String? {
        get { properties["client.id"] }
        set { properties["client.id"] = newValue }
    }

    /// `group.id`: set it to consume as a group member (`subscribe`), leave it unset for `assign`-only use.
    public var groupID: String? {
        get { properties["group.id"] }
        set { properties["group.id"] = newValue }
    }

    /// `group.instance.id`: static membership. A restarted member with the same id takes its partitions
    /// back without a rebalance. Static members do not send LeaveGroup on close (KIP-345).
    public var groupInstanceID: String? {
        get { properties["group.instance.id"] }
        set { properties["group.instance.id"] = newValue }
    }

    /// The same configuration with `other`'s properties on top.
    public func merging(_ other: [String: String]) -> KafkaConfig {
        KafkaConfig(properties.merging(other) { _, new in new })
    }

    private static let secretMarkers = ["password", "secret", "sasl.jaas", "ssl.key", "token", "oauthbearer"]

    /// Whether the value of `key` must never be printed or logged.
    public static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return secretMarkers.contains { lowered.contains($0) }
    }

    /// The properties with secret values replaced by `[REDACTED]`; safe to log.
    public var redactedProperties: [String: String] {
        properties.reduce(into: [:]) { $0[$1.key] = Self.isSecret($1.key) ? "[REDACTED]" : $1.value }
    }

    public var description: String {
        let pairs = redactedProperties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return "KafkaConfig(\(pairs.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["properties": redactedProperties]) }

    /// `text` with every secret value of this configuration masked; applied to librdkafka error
    /// strings produced while the configuration is applied.
    func scrub(_ text: String) -> String {
        properties.reduce(text) { text, entry in
            Self.isSecret(entry.key) && !entry.value.isEmpty
                ? text.replacingOccurrences(of: entry.value, with: "[REDACTED]") : text
        }
    }
}

/// The key that authenticates records on a shared topic (`sync.record_secret`, `changelog.record_secret`):
/// printed, dumped or reflected only as `[REDACTED]`, like the Kafka credentials.
public struct RecordSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let bytes: [UInt8]
    /// Shorter keys are refused at start-up (RFC 2104: at least the hash's output length is recommended).
    public static let minBytes = 32

    public init(_ value: String) { bytes = Array(value.utf8) }

    public var description: String { "[REDACTED]" }
    public var debugDescription: String { "[REDACTED]" }
    public var customMirror: Mirror { Mirror(self, children: [Mirror.Child]()) }
}

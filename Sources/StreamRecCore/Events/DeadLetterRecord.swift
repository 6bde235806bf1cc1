import Foundation

/// The envelope written to the dead-letter topic for a message the learner rejected
/// (`schemas/dead-letter.schema.json`). Bad input never stops the learner; it ends up here, with enough
/// context to find, inspect and replay the original message.
public struct DeadLetterRecord: Sendable, Hashable {
    /// Human-readable rejection reason, e.g. an ``EventDecodingError/description``.
    public var reason: String
    public var sourceTopic: String
    public var sourcePartition: Int32
    public var sourceOffset: Int64
    /// Milliseconds since the epoch when the message was dead-lettered.
    public var timestamp: Int64
    /// The original message bytes.
    public var payload: [UInt8]

    /// Payload bytes kept in the record; longer payloads are truncated (`payload_bytes` keeps the
    /// original size), so an oversized message can't produce an oversized dead letter.
    public static let maxPayloadBytes = 64 * 1024
    /// Longest reason kept, in UTF-8 bytes (reasons quote at most short previews, so this is a backstop).
    public static let maxReasonBytes = 1024

    public init(
        reason: String,
        sourceTopic: String,
        sourcePartition: Int32,
        sourceOffset: Int64,
        timestamp: Int64,
        payload: [UInt8]
    ) {
        self.reason = reason
        self.sourceTopic = sourceTopic
        self.sourcePartition = sourcePartition
        self.sourceOffset = sourceOffset
        self.timestamp = timestamp
        self.payload = payload
    }

    /// Compact JSON with fields `reason, source_topic, source_partition, source_offset, ts,
    /// payload_base64, payload_bytes`.
    public func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"reason":"#.utf8)
        var reasonBytes = Array(reason.utf8)
        if reasonBytes.count > Self.maxReasonBytes {
            var cut = Self.maxReasonBytes
            while reasonBytes[cut] & 0xC0 == 0x80 { cut -= 1 }  // don't split a character
            reasonBytes.removeSubrange(cut...)
        }
        JSONOutput.appendString(String(decoding: reasonBytes, as: UTF8.self), to: &out)
        out.append(contentsOf: #","source_topic":"#.utf8)
        JSONOutput.appendString(sourceTopic, to: &out)
        out.append(contentsOf: #","source_partition":"#.utf8)
        out.append(contentsOf: String(sourcePartition).utf8)
        out.append(contentsOf: #","source_offset":"#.utf8)
        out.append(contentsOf: String(sourceOffset).utf8)
        out.append(contentsOf: #","ts":"#.utf8)
        out.append(contentsOf: String(timestamp).utf8)
        out.append(contentsOf: #","payload_base64":""#.utf8)
        out.append(contentsOf: Data(payload.prefix(Self.maxPayloadBytes)).base64EncodedString().utf8)
        out.append(contentsOf: #"","payload_bytes":"#.utf8)
        out.append(contentsOf: String(payload.count).utf8)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

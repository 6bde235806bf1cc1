/// Why a sync record was refused: the label of the per-reason counters (`/stats`, `/metrics`).
public enum SyncRejection: String, Error, Sendable, CaseIterable, CustomStringConvertible {
    /// No learner id key, or not a decodable batch / announcement (checksum, caps, layout).
    case undecodable
    /// Authentication is on and the record has no tag, or a wrong one.
    case unsigned
    case badSignature = "bad_signature"
    /// NaN or ±Inf anywhere in the values.
    case nonFinite = "non_finite"
    /// A value over ``ItemDeltaLimits`` (magnitudes, counts).
    case outOfBounds = "out_of_bounds"
    /// Factor dimension or context flag differ from this learner's model.
    case shape
    /// A publisher that never announced itself (and whose batch is not its first).
    case unknownPublisher = "unknown_publisher"
    /// A sequence more than ``ItemDeltaLimits/maxSequenceStep`` past the publisher's last one (or, for
    /// this learner's own id, past what it has published).
    case sequenceJump = "sequence_jump"

    public var description: String { rawValue }
}

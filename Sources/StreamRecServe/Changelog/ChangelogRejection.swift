/// Why a changelog record was refused at restore: the label of the per-reason counters (`/stats`
/// `changelogRejected`, `/metrics` `streamrec_changelog_rejected_records{reason}`).
public enum ChangelogRejection: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Authentication is on (`changelog.record_secret`) and the record has no tag, or a wrong one.
    case unsigned
    case badSignature = "bad_signature"
    /// A checkpoint that doesn't decode (checksum, layout) or sits in another partition than its own.
    case undecodableCheckpoint = "undecodable_checkpoint"
    /// A checkpoint whose next offset lies past the input partition's high watermark (restoring it would
    /// make the consumer reset to the beginning and re-learn the partition), or that counts more learned
    /// events than offsets.
    case checkpointOutOfRange = "checkpoint_out_of_range"
    /// A user record that doesn't decode or names another user than its key: the user's previous good
    /// record is kept.
    case unreadableUserRecord = "unreadable_user_record"

    public var description: String { rawValue }
}

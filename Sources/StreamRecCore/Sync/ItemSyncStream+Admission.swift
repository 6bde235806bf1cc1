/// What a model-sync record must pass before ``ItemSyncStream/apply(_:publisherID:own:to:)`` sees it:
/// the batch's values (``ItemDeltaBatch/violation(of:)``), its shape, and its publisher's sequence.
///
/// Publishers are known from their announcement (``SyncAnnouncement``, written at every start before any
/// batch), from the stream state (publishers applied before), or from a batch with sequence 1 (a
/// publisher's first batch: topics written before announcements existed). Anything else keyed as an
/// unknown learner is refused. A known publisher's sequence may advance by at most
/// ``ItemDeltaLimits/maxSequenceStep`` per record; this learner's own id never past what it published.
/// Without record authentication these checks stop corruption and mistakes, not a writer who imitates
/// the format: that takes `sync.record_secret` (``RecordSeal``) and broker ACLs.
extension ItemSyncStream {
    public func admission(
        of batch: ItemDeltaBatch,
        publisherID: String,
        own: Bool,
        limits: ItemDeltaLimits,
        factors: Int,
        hasContext: Bool
    ) -> SyncRejection? {
        guard batch.dimension == factors, batch.hasContext == hasContext else { return .shape }
        if let why = batch.violation(of: limits) { return why }
        return sequenceCheck(publisherID: publisherID, sequence: batch.sequence, own: own, limits: limits, first: 1)
    }

    /// A publisher announced itself with the last sequence it has published. An unknown one is registered
    /// at that sequence (its next batch continues from it); for a known one it only has to lie within
    /// the step bound (a restarted publisher re-announces at or below what was applied).
    public mutating func announce(
        publisherID: String,
        sequence announced: UInt64,
        own: Bool,
        limits: ItemDeltaLimits
    ) -> SyncRejection? {
        if let why = sequenceCheck(
            publisherID: publisherID,
            sequence: announced,
            own: own,
            limits: limits,
            first: nil
        ) {
            return why
        }
        if lastApplied[publisherID] == nil && !own {
            guard lastApplied.count < Self.maxPublishers else { return .outOfBounds }
            lastApplied[publisherID] = announced
        }
        return nil
    }

    /// `first`: the sequence that introduces an unknown publisher on its own (nil: none does).
    private func sequenceCheck(
        publisherID: String,
        sequence s: UInt64,
        own: Bool,
        limits: ItemDeltaLimits,
        first: UInt64?
    ) -> SyncRejection? {
        if own { return s <= sequence ? nil : .sequenceJump }
        guard let last = lastApplied[publisherID] else {
            if let first, s == first { return nil }
            return first == nil ? nil : .unknownPublisher
        }
        return s > last && s - last > limits.maxSequenceStep ? .sequenceJump : nil
    }
}

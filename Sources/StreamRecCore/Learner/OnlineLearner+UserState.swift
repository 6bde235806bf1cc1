// Moving one user's state between learners: export as a ``UserStateRecord``, import
// (upsert) into another learner, remove. Used by the serve side's user-state changelog when a partition
// changes owner. None of these touch the model's RNG stream, so a learner that drops a user and imports it
// back learns exactly as if it had kept it.

extension OnlineLearner {
    /// The user's whole state, or nil for an unknown user. History entries and seen items whose item slot
    /// is no longer live (the item was evicted since) are left out. A user whose record would exceed
    /// ``UserStateRecord/maxBytes`` loses its oldest seen items in the record (this learner keeps them).
    public func exportUser(_ id: String) -> UserStateRecord? {
        guard let slot = users.index(of: id) else { return nil }
        let history = store.recentEvents(of: slot).reversed().compactMap { e in
            items.id(at: e.item).map { UserStateRecord.Entry(item: $0, timestamp: e.timestamp) }
        }
        let seen = store.seenItems(of: slot).compactMap { items.id(at: $0) }
        let u = Int(slot)
        var record = UserStateRecord(
            user: id,
            configFingerprint: config.fingerprint,
            factors: model.userFactors.row(u),
            eventCount: store.eventCounts[u],
            firstSeen: store.firstSeen[u],
            lastSeen: store.lastSeen[u],
            history: history,
            seen: seen
        )
        // Very long seen-sets of long ids: keep the newest that fit (what the learner forgets first anyway).
        var excess = record.encodedSize - UserStateRecord.maxBytes
        while excess > 0, !record.seen.isEmpty {
            excess -= 2 + record.seen.removeFirst().utf8.count
        }
        return record
    }

    /// Upserts a user from another learner's record, interning the user and unknown items as learning
    /// would (evicting under the caps), so the import behaves like the user's events arriving here.
    ///
    /// - Throws: ``UserStateImportError`` when the record comes from a model with another configuration
    ///   (fingerprint) or dimension; nothing is changed then.
    public mutating func importUser(_ record: UserStateRecord) throws(UserStateImportError) {
        guard record.configFingerprint == config.fingerprint else {
            throw UserStateImportError(
                "user '\(record.user)': written by a model with another configuration "
                    + "(fingerprint \(String(record.configFingerprint, radix: 16)), this one \(String(config.fingerprint, radix: 16)))"
            )
        }
        guard record.factors.count == config.factors, record.factors.allSatisfy(\.isFinite) else {
            throw UserStateImportError(
                "user '\(record.user)': \(record.factors.count) factors, the model has \(config.factors)"
            )
        }
        let u = users.touch(record.user)
        if u.isNew {
            store.ensureSlot(u.index)
            // A zero row, not a random one: it is overwritten below, and drawing would move the RNG stream.
            while model.factors.users.rows <= Int(u.index) { model.factors.users.appendRow() }
            if u.evictedId != nil { counters.userEvictions += 1 }
        }
        let history = record.history.suffix(config.historyLength).map {
            (item: internItem($0.item), timestamp: $0.timestamp)
        }
        let seen = record.seen.suffix(config.maxSeenPerUser).map { internItem($0) }
        store.restore(
            user: u.index,
            history: history,
            seen: seen,
            eventCount: record.eventCount,
            firstSeen: record.firstSeen,
            lastSeen: record.lastSeen
        )
        model.setUserFactors(u.index, record.factors)
    }

    /// Forgets a user (its partition moved to another learner). The freed slot is re-initialized from a
    /// stream derived from the seed and the slot, not the model's RNG, so removing a user never changes
    /// which negatives the learner draws next. Returns whether the user was known.
    @discardableResult
    public mutating func removeUser(_ id: String) -> Bool {
        guard let slot = users.remove(id) else { return false }
        store.reset(slot)
        var rng = RandomSource(seed: config.seed ^ (0x5EED_0000_0000 &+ UInt64(slot) &* 0x9E37_79B9_7F4A_7C15))
        let values = (0..<config.factors).map { _ in rng.nextGaussian() * config.initScale }
        model.setUserFactors(slot, values)
        return true
    }

    /// The slot of item `id`, interning it as a new item if this learner doesn't know it. An existing
    /// item is not touched (its recency, hence eviction order, stays what learning made it).
    private mutating func internItem(_ id: String) -> Int32 {
        if let slot = items.index(of: id) { return slot }
        let i = items.touch(id)
        counters.newItems += 1
        model.ensureItem(i.index)
        if i.evictedId != nil {
            counters.itemEvictions += 1
            model.resetItem(i.index)
        }
        return i.index
    }
}

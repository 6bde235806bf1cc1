/// One user → item interaction, the unit everything in streamrec consumes.
///
/// Ids are opaque strings (numeric ids in the wire format are normalized to their decimal text) so the
/// model never has to guess whether `"42"` and `42` are the same user.
public struct Event: Sendable, Hashable {
    public var user: String
    public var item: String
    /// Milliseconds since the Unix epoch (UTC).
    public var timestamp: Int64
    /// Interaction kind (`view`, `click`, `purchase`, `rating`, …); nil when the source doesn't say.
    public var type: String?
    /// Explicit strength of the interaction; when present it overrides the per-type weight
    /// (see ``EventWeights``).
    public var weight: Float?

    public init(user: String, item: String, timestamp: Int64, type: String? = nil, weight: Float? = nil) {
        self.user = user
        self.item = item
        self.timestamp = timestamp
        self.type = type
        self.weight = weight
    }
}

extension Event {
    /// True when timestamps never decrease. Prequential replay needs time order; MovieLens `u.data`,
    /// for instance, is not time ordered.
    public static func isSortedByTime(_ events: some Sequence<Event>) -> Bool {
        var previous = Int64.min
        for event in events {
            if event.timestamp < previous { return false }
            previous = event.timestamp
        }
        return true
    }

    /// Stable sort by timestamp: events with equal timestamps keep their log order, so replay of a
    /// re-sorted log is still deterministic. (The standard library's sort is not documented as stable,
    /// hence the explicit index tie-break.)
    public static func sortedByTime(_ events: [Event]) -> [Event] {
        if isSortedByTime(events) { return events }
        let order = events.indices.sorted { a, b in
            let ta = events[a].timestamp
            let tb = events[b].timestamp
            return ta != tb ? ta < tb : a < b
        }
        return order.map { events[$0] }
    }
}

/// Size caps applied to every incoming event, so a flood of hostile or broken messages can't exhaust
/// memory (ids end up as keys of the id maps and the user store).
public struct EventLimits: Sendable, Hashable {
    /// Largest `user` / `item` id, in UTF-8 bytes.
    public var maxIdBytes: Int
    /// Largest `type`, in UTF-8 bytes.
    public var maxTypeBytes: Int
    /// Largest whole message (one JSON document or one log line), in bytes.
    public var maxMessageBytes: Int
    /// Accepted range of an explicit `weight`; non-finite weights are always rejected.
    public var weightRange: ClosedRange<Float>

    /// 9999-12-31T23:59:59.999Z in milliseconds: the largest timestamp accepted anywhere. Larger values
    /// are almost always seconds/microseconds mix-ups and would poison time-decay maths.
    public static let maxTimestamp: Int64 = 253_402_300_799_999

    public init(
        maxIdBytes: Int = 256,
        maxTypeBytes: Int = 32,
        maxMessageBytes: Int = 64 * 1024,
        weightRange: ClosedRange<Float> = 0...1000
    ) {
        self.maxIdBytes = maxIdBytes
        self.maxTypeBytes = maxTypeBytes
        self.maxMessageBytes = maxMessageBytes
        self.weightRange = weightRange
    }
}

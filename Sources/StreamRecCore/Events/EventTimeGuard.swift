/// Keeps one event's timestamp from breaking time-based state. Event time drives TTL expiry and decay
/// through the model clock (the largest timestamp seen), so a single event dated year 9999 would
/// expire every user and item, and a timestamp in seconds (1.7e9) read as milliseconds lands in
/// January 1970.
///
/// Rules, checked per event (a rejection is dead-lettered with the returned reason):
/// 1. With ``Unit/seconds`` the timestamp is converted to milliseconds first.
/// 2. In milliseconds, a value in `1e8 ..< 1e11` (1970-01-02 … 1973-03-03) almost surely is seconds
///    (2001 … 2286): rejected, naming the `timestamp_unit` setting, instead of silently read as 1970.
/// 3. More than ``maxFutureSkewMillis`` ahead of the wall clock: rejected (0 disables the check).
///    Historical replays are unaffected: only the future is bounded.
public struct EventTimeGuard: Sendable, Equatable {
    public enum Unit: String, Sendable, Codable, CaseIterable {
        case milliseconds, seconds
    }

    public var unit: Unit
    public var maxFutureSkewMillis: Int64

    /// Millisecond timestamps this small-but-not-tiny are seconds in disguise.
    public static let secondsLookingRange: Range<Int64> = 100_000_000..<100_000_000_000

    public init(unit: Unit = .milliseconds, maxFutureSkewMillis: Int64 = 3_600_000) {
        self.unit = unit
        self.maxFutureSkewMillis = maxFutureSkewMillis
    }

    /// The event's timestamp in milliseconds, or why it is rejected.
    public func check(_ timestamp: Int64, wallClockMillis: Int64) -> Result<Int64, Rejection> {
        var ms = timestamp
        switch unit {
        case .seconds:
            let (product, overflow) = timestamp.multipliedReportingOverflow(by: 1000)
            guard !overflow, product <= EventLimits.maxTimestamp else { return .failure(.outOfRange(timestamp)) }
            ms = product
        case .milliseconds:
            if Self.secondsLookingRange.contains(timestamp) { return .failure(.looksLikeSeconds(timestamp)) }
        }
        if maxFutureSkewMillis > 0, ms > wallClockMillis, ms - wallClockMillis > maxFutureSkewMillis {
            return .failure(.inTheFuture(ms, aheadMillis: ms - wallClockMillis, maxSkewMillis: maxFutureSkewMillis))
        }
        return .success(ms)
    }

    public enum Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        case looksLikeSeconds(Int64)
        case inTheFuture(Int64, aheadMillis: Int64, maxSkewMillis: Int64)
        case outOfRange(Int64)

        public var description: String {
            switch self {
            case .looksLikeSeconds(let ts):
                "timestamp \(ts) looks like seconds, not milliseconds (set timestamp_unit = \"seconds\" if the topic uses seconds)"
            case .inTheFuture(let ts, let ahead, let skew):
                "timestamp \(ts) is \(ahead) ms ahead of the wall clock (max_future_skew_ms = \(skew))"
            case .outOfRange(let ts):
                "timestamp \(ts) s is out of range"
            }
        }
    }
}

// Logs read by `replay` and `tune`: the same seconds-vs-milliseconds rule, applied to a whole log.
extension EventTimeGuard {
    /// Share of `events` whose timestamp, read as milliseconds, looks like seconds (``secondsLookingRange``).
    public static func secondsLookingShare(_ events: [Event]) -> Double {
        guard !events.isEmpty else { return 0 }
        let n = events.reduce(0) { $0 + (secondsLookingRange.contains($1.timestamp) ? 1 : 0) }
        return Double(n) / Double(events.count)
    }

    /// `events` with second timestamps converted to milliseconds (order unchanged). Throws the first
    /// timestamp whose conversion overflows the event limits.
    public static func convertingSecondsToMillis(_ events: [Event]) throws(Rejection) -> [Event] {
        var out = events
        for i in out.indices {
            let (ms, overflow) = out[i].timestamp.multipliedReportingOverflow(by: 1000)
            guard !overflow, ms <= EventLimits.maxTimestamp else { throw .outOfRange(out[i].timestamp) }
            out[i].timestamp = ms
        }
        return out
    }
}

public import Dispatch

/// Lets at most `burst` lines of one kind through per `interval`, and counts the rest, so a flood of
/// bad messages or a broker outage logs a few lines plus "N more suppressed" instead of one per event.
///
/// Not thread-safe: each owner (the learner thread, a callback) keeps its own. The clock is injectable
/// for tests (nanoseconds, monotonic).
public struct LogRateLimiter: Sendable {
    public let burst: Int
    public let intervalNanos: UInt64
    private var windowStart: UInt64?
    private var inWindow = 0
    /// Lines dropped since the last line let through.
    public private(set) var suppressed = 0
    /// Lines dropped over the limiter's lifetime.
    public private(set) var totalSuppressed = 0

    public init(burst: Int = 10, intervalSeconds: Double = 10) {
        self.burst = max(1, burst)
        intervalNanos = UInt64(max(0.001, intervalSeconds) * 1e9)
    }

    /// What to do with one line.
    public enum Decision: Equatable, Sendable {
        /// Log it; `suppressedBefore` lines were dropped since the previous one (mention them).
        case log(suppressedBefore: Int)
        case drop
    }

    public mutating func admit(now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Decision {
        if let start = windowStart, now &- start < intervalNanos {
            guard inWindow < burst else {
                suppressed += 1
                totalSuppressed += 1
                return .drop
            }
        } else {
            windowStart = now
            inWindow = 0
        }
        inWindow += 1
        defer { suppressed = 0 }
        return .log(suppressedBefore: suppressed)
    }
}

import Foundation

/// Once a second, one point of the live view's time series (events/s, lag, online recall).
struct StatusSampler {
    private let status: ServeStatus
    private var lastSampleNanos: UInt64
    private var eventsAtLastSample: Int64

    init(status: ServeStatus, now: UInt64) {
        self.status = status
        lastSampleNanos = now
        eventsAtLastSample = status.current.eventsConsumed
    }

    mutating func tick(now: UInt64, onlineRecall: Double?) {
        guard now - lastSampleNanos >= 1_000_000_000 else { return }
        let current = status.current
        let rate = Double(current.eventsConsumed - eventsAtLastSample) / (Double(now - lastSampleNanos) / 1e9)
        status.record(
            .init(
                t: Int64(Date().timeIntervalSince1970 * 1000),
                eventsPerSecond: rate,
                lag: current.totalLag,
                onlineRecall: onlineRecall
            )
        )
        eventsAtLastSample = current.eventsConsumed
        lastSampleNanos = now
    }
}

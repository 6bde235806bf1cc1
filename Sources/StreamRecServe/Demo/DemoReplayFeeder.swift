import Foundation
public import ServiceLifecycle
public import StreamRecCore
import Synchronization

/// A stand-in for the Kafka consumer loop (`streamrec http-demo`, tests, the HTTP benchmark; never
/// `serve`): feeds an in-memory event log into a ``LiveLearner`` at a fixed rate and keeps
/// ``ServeStatus``, ``StreamRecMetrics`` and an ``OnlineRecallTracker`` up to date as the serving loop
/// does. The log is one pseudo-partition (`topic`, partition 0) whose high watermark is its length, so
/// "lag" is the number of events not yet learned.
public final class DemoReplayFeeder: Service, Sendable {
    public let events: [Event]
    public let topic: String
    /// Target events per second (0 = as fast as possible).
    public let eventsPerSecond: Double
    public let weights: EventWeights
    private let step: PrequentialStep
    /// Every this many events one learner update is timed into the SGD latency histogram.
    public let timingSampleEvery: Int
    private let learner: LiveLearner
    private let status: ServeStatus
    private let metrics: StreamRecMetrics

    private struct State {
        var position: Int
        var tracker: OnlineRecallTracker
    }
    private let state: Mutex<State>

    public init(
        events: [Event],
        startAt: Int = 0,
        eventsPerSecond: Double,
        topic: String = "demo-log",
        learner: LiveLearner,
        status: ServeStatus,
        metrics: StreamRecMetrics,
        tracker: OnlineRecallTracker,
        weights: EventWeights = EventWeights(),
        timingSampleEvery: Int = 16
    ) {
        self.events = events
        self.topic = topic
        self.eventsPerSecond = eventsPerSecond
        self.weights = weights
        step = PrequentialStep(weights: weights)
        self.timingSampleEvery = max(1, timingSampleEvery)
        self.learner = learner
        self.status = status
        self.metrics = metrics
        let start = min(max(0, startAt), events.count)
        state = Mutex(State(position: start, tracker: tracker))
        status.update {
            $0.started = true
            $0.partitions = [
                ServeStatus.PartitionState(
                    topic: topic,
                    partition: 0,
                    position: Int64(start),
                    highWatermark: Int64(events.count)
                )
            ]
        }
    }

    /// Index of the next event to learn.
    public var position: Int { state.withLock { $0.position } }

    /// The online recall tracker's current state.
    public var tracker: OnlineRecallTracker { state.withLock { $0.tracker } }

    /// Learns up to `count` more events (test-then-train through the tracker), updating status and
    /// metrics. Returns how many were applied (fewer at the end of the log).
    @discardableResult
    public func apply(count: Int) -> Int {
        let (applied, position, recall, tracker) = state.withLock { s -> (Int, Int, Double?, OnlineRecallTracker) in
            let end = min(events.count, s.position + max(0, count))
            guard end > s.position else { return (0, s.position, s.tracker.recall, s.tracker) }
            learner.update { l in
                for index in s.position..<end {
                    // A diverging step is rolled back and counted by the learner; learning goes on.
                    let outcome = step.apply(
                        events[index],
                        to: &l,
                        observer: &s.tracker,
                        timed: index % timingSampleEvery == 0
                    )
                    if let duration = outcome.learnDuration { metrics.recordSGDUpdate(duration) }
                }
            }
            let applied = end - s.position
            s.position = end
            return (applied, end, s.tracker.recall, s.tracker)
        }
        guard applied > 0 else { return 0 }
        metrics.recordConsumed(topic: topic, count: applied)
        metrics.recordLearned(topic: topic, count: applied)
        metrics.record(onlineRecall: tracker)
        status.update {
            $0.eventsConsumed += Int64(applied)
            $0.eventsLearned += Int64(applied)
            $0.onlineRecall = recall
            if !$0.partitions.isEmpty { $0.partitions[0].position = Int64(position) }
        }
        return applied
    }

    /// Feeds the log at ``eventsPerSecond`` in 10 ms ticks and records one ``ServeStatus/Sample`` per
    /// second; after the end of the log it keeps sampling (events/s 0) until cancelled or shut down.
    public func run() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        var lastSample = started
        var learnedAtLastSample = 0
        var learned = 0
        // Bounded batches keep the learner's lock short so queries interleave with learning.
        let maxBatch = 2_000
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = clock.now
            let due: Int
            if eventsPerSecond > 0 {
                due = Int(((now - started).seconds * eventsPerSecond).rounded(.down)) - learned
            } else {
                due = 500
            }
            if due > 0 { learned += apply(count: min(due, maxBatch)) }
            if now - lastSample >= .seconds(1) {
                let elapsed = (now - lastSample).seconds
                let s = status.current
                status.record(
                    ServeStatus.Sample(
                        t: OperationsAPI.wallClockMillis(),
                        eventsPerSecond: Double(learned - learnedAtLastSample) / elapsed,
                        lag: s.totalLag,
                        onlineRecall: s.onlineRecall
                    )
                )
                lastSample = now
                learnedAtLastSample = learned
            }
            if eventsPerSecond > 0 || position >= events.count {
                try? await Task.sleep(for: .milliseconds(10))
            } else {
                await Task.yield()
            }
        }
    }
}

import Foundation
import Logging
import StreamRecCore
import StreamRecKafka

/// Learns one polled batch: decodes each message (bad input → dead letter), applies the event-time
/// policy, and runs the test-then-train ``PrequentialStep`` (sampled online recall, then learning);
/// every touched user is marked for a fresh list.
///
/// One per serve loop, so one per learner.
struct BatchLearner {
    private let decoder: EventDecoder
    private let eventTime: EventTimeGuard
    private let step: PrequentialStep
    /// Online test-then-train evaluation on a sample of events; nil = off.
    private(set) var tracker: OnlineRecallTracker?
    private let metrics: StreamRecMetrics
    private let logger: Logger
    /// A poisoned model can fail every step: a few lines per interval, not one per event.
    private var nonFiniteLog = LogRateLimiter(burst: 10, intervalSeconds: 10)
    /// Monotonic nanoseconds for the limiter; tests drive it.
    var clock: @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }

    init(config: ServeConfig, metrics: StreamRecMetrics, logger: Logger) {
        decoder = EventDecoder(limits: config.limits)
        eventTime = config.eventTime
        step = PrequentialStep(weights: config.weights)
        let every = config.onlineEvaluationEvery
        tracker = every > 0 ? OnlineRecallTracker(k: config.k, windowSize: 1000, sampling: .everyNth(every)) : nil
        self.metrics = metrics
        self.logger = logger
    }

    /// Returns how many events were learned (the rest were dead-lettered or rolled back).
    mutating func learn(
        _ batch: [KafkaMessage],
        learner: LiveLearner,
        partitions: PartitionBook,
        refresh: inout RefreshCoalescer,
        output: OutputSink,
        participants: [any LoopParticipant]
    ) -> Int {
        var learned = 0
        var ordinal = 0
        let wallClock = Int64(Date().timeIntervalSince1970 * 1000)
        learner.update { learner in
            for message in batch {
                partitions.consumed(message.topicPartition, offset: message.offset)
                var event: Event
                do {
                    event = try decoder.decode(message.value)  // also enforces the message size cap
                } catch {
                    output.deadLetter(message, reason: "\(error)")
                    continue
                }
                switch eventTime.check(event.timestamp, wallClockMillis: wallClock) {
                case .success(let ms): event.timestamp = ms
                case .failure(let rejection):
                    output.deadLetter(message, reason: "\(rejection)")
                    continue
                }
                // One update in 16 is timed: enough for the latency histogram, negligible overhead.
                ordinal += 1
                let outcome = step.apply(event, to: &learner, observer: &tracker, timed: ordinal & 15 == 0)
                if let duration = outcome.learnDuration { metrics.recordSGDUpdate(duration) }
                for participant in participants {
                    participant.learned(event, from: message, outcome: outcome, learner: &learner)
                }
                let slot: Int32
                switch outcome.result {
                case .success(let interaction):
                    slot = interaction.userSlot
                    learned += 1
                case .failure(let error):
                    // The step was rolled back; the event still moved the store. Worth a loud line.
                    if case .log(let suppressed) = nonFiniteLog.admit(now: clock()) {
                        logger.error(
                            "non-finite SGD step rolled back",
                            metadata: [
                                "offset": "\(message.topic)[\(message.partition)]@\(message.offset)",
                                "error": "\(error)", "suppressed_since_last": "\(suppressed)",
                            ]
                        )
                    }
                    slot = learner.users.index(of: event.user) ?? 0
                }
                refresh.markDirty(slot, topic: message.topic, partition: message.partition, offset: message.offset)
            }
        }
        var perTopic: [String: Int] = [:]
        for m in batch { perTopic[m.topic, default: 0] += 1 }
        for (topic, n) in perTopic { metrics.recordConsumed(topic: topic, count: n) }
        if learned > 0 { metrics.recordLearned(topic: batch[0].topic, count: learned) }
        if let tracker { metrics.record(onlineRecall: tracker) }
        return learned
    }
}

import Foundation
import Logging
import StreamRecKafka
import Synchronization
import Testing

@testable import StreamRecCore
@testable import StreamRecServe

@Suite("non-finite flood logging")
struct NonFiniteLogFloodTests {
    /// A model whose user and item rows are NaN (what a forged sync batch once did): every SGD step that touches
    /// them is rolled back, so every event is a "non-finite SGD step rolled back".
    static func poisonedLearner() throws -> LiveLearner {
        var config = ModelConfig()
        config.factors = 4
        var learner = try OnlineLearner(config: config)
        for i in 0..<5 { _ = try learner.learn(user: "u\(i)", item: "i\(i)", timestamp: Int64(i), weight: 1) }
        learner.model.factors.users.withUnsafeMutableBufferPointer { $0.update(repeating: .nan) }
        learner.model.factors.items.withUnsafeMutableBufferPointer { $0.update(repeating: .nan) }
        return LiveLearner(learner)
    }

    @Test("10,000 rolled-back steps over 20 simulated seconds log `burst` lines per 10 s window")
    func boundedLines() throws {
        let capture = LogCapture()
        let metrics = StreamRecMetrics()
        let status = ServeStatus()
        let config = ServeConfig()
        let now = Atomic<UInt64>(0)
        var batchLearner = BatchLearner(config: config, metrics: metrics, logger: capture.logger)
        batchLearner.clock = { now.load(ordering: .relaxed) }
        let learner = try Self.poisonedLearner()
        let partitions = PartitionBook(status: status, metrics: metrics, logger: capture.logger)
        var refresh = RefreshCoalescer(minRefreshIntervalMillis: 0)
        // Never sends here (no dead letters, no lists flushed); the address is never dialled.
        let output = try OutputSink(
            topics: .init(recommendations: "recs", deadLetters: "dlq"),
            kafkaConfig: KafkaConfig(bootstrapServers: "127.0.0.1:1"),
            status: status,
            metrics: metrics,
            logger: capture.logger,
            stop: StopFlag()
        )
        defer { try? output.close(flushTimeout: .zero) }

        // 10,000 events, 1,000 every 2 simulated seconds: 20 s, two of the limiter's 10 s windows.
        let second: UInt64 = 1_000_000_000
        var offset: Int64 = 0
        var lines: [Int] = []
        var rejectedInFirstWindow: Int64 = 0
        for batchIndex in 0..<10 {
            now.store(UInt64(batchIndex) * 2 * second, ordering: .relaxed)
            let before = capture.count(.error, containing: "non-finite SGD step rolled back")
            var batch: [KafkaMessage] = []
            for _ in 0..<1000 {
                let event = Event(user: "u\(offset % 5)", item: "i\(offset % 5)", timestamp: 10 + offset)
                batch.append(
                    KafkaMessage(
                        topic: "events",
                        partition: 0,
                        offset: offset,
                        key: nil,
                        value: EventEncoder.jsonBytes(event)
                    )
                )
                offset += 1
            }
            _ = batchLearner.learn(
                batch,
                learner: learner,
                partitions: partitions,
                refresh: &refresh,
                output: output,
                participants: []
            )
            lines.append(capture.count(.error, containing: "non-finite SGD step rolled back") - before)
            if batchIndex == 4 { rejectedInFirstWindow = learner.read { $0.counters.nonFiniteRejected } }
        }
        let rejected = learner.read { $0.counters.nonFiniteRejected }
        // Nearly every event is a rolled-back step (the odd one takes a path without an SGD step).
        #expect(rejected > 9_900 && rejectedInFirstWindow > 4_900, "\(rejected), \(rejectedInFirstWindow)")
        // Limiter: 10 lines per 10 s window, so 20 simulated seconds log 20 lines, not 10,000.
        #expect(lines.reduce(0, +) == 20, "\(lines)")
        #expect(lines[0..<5].reduce(0, +) == 10 && lines[5..<10].reduce(0, +) == 10, "\(lines)")
        // The first line of the second window reports what the first window dropped.
        #expect(capture.contains("suppressed_since_last=\(rejectedInFirstWindow - 10)"))
    }
}

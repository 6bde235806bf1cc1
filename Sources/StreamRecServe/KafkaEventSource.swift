import Foundation
public import Logging
public import StreamRecCore
public import StreamRecKafka

/// Reads a bounded range of an event topic for backtesting, without joining any consumer group
/// (assign mode), so a backtest never disturbs the serving learner's group or offsets.
public struct KafkaEventSource: Sendable {
    /// Where a partition's range starts or ends.
    public enum Bound: Sendable, Equatable {
        case beginning
        case end
        case offset(Int64)
        /// First message with timestamp ≥ this (ms since epoch).
        case time(Int64)
    }

    public var configuration: KafkaConfig
    public var topic: String
    public var from: Bound = .beginning
    public var to: Bound = .end
    public var limits = EventLimits()

    public init(configuration: KafkaConfig, topic: String) {
        self.configuration = configuration
        self.topic = topic
    }

    /// Everything read: events in time order (stable across partitions), plus malformed-message counts.
    public struct Result: Sendable {
        public var events: [Event]
        public var messages: Int
        public var malformed: Int
        public var firstErrors: [String]
        public var ranges: [TopicPartition: ClosedRange<Int64>]
    }

    public func read(logger: Logger = Logger(label: "streamrec.replay.kafka")) throws -> Result {
        let consumer = try KafkaConsumer(
            configuration: configuration.merging(["enable.partition.eof": "false"]),
            logger: logger
        )
        defer { try? consumer.close() }
        let partitions = try consumer.partitions(of: topic)
        guard !partitions.isEmpty else {
            throw KafkaError.invalidArgument("topic \(topic) has no partitions (does it exist?)")
        }
        var start: [TopicPartition: Int64] = [:]
        var end: [TopicPartition: Int64] = [:]
        for tp in partitions {
            let marks = try consumer.watermarkOffsets(topic: tp.topic, partition: tp.partition)
            func resolve(_ bound: Bound) throws -> Int64 {
                switch bound {
                case .beginning: return marks.low
                case .end: return marks.high
                case .offset(let o): return min(max(o, marks.low), marks.high)
                case .time(let t):
                    let o = try consumer.offsetsForTimes([tp: t])[tp] ?? KafkaOffset.end
                    return o < 0 ? marks.high : o
                }
            }
            start[tp] = try resolve(from)
            end[tp] = try resolve(to)
        }
        let wanted = start.filter { end[$0.key]! > $0.value }
        var result = Result(events: [], messages: 0, malformed: 0, firstErrors: [], ranges: [:])
        for (tp, s) in wanted { result.ranges[tp] = s...(end[tp]! - 1) }
        guard !wanted.isEmpty else { return result }
        try consumer.assign(wanted)
        var remaining = Set(wanted.keys)
        let decoder = EventDecoder(limits: limits)
        var idlePolls = 0
        while !remaining.isEmpty {
            let batch = try consumer.poll(maxMessages: 5000, timeout: .milliseconds(500))
            idlePolls = batch.isEmpty ? idlePolls + 1 : 0
            if idlePolls > 120 {
                throw KafkaError.timedOut(
                    "no progress reading \(topic) for 60 s (\(remaining.count) partitions unfinished)"
                )
            }
            for m in batch {
                let tp = m.topicPartition
                guard let last = end[tp], m.offset < last else {
                    remaining.remove(tp)
                    continue
                }
                result.messages += 1
                do {
                    result.events.append(try decoder.decode(m.value))
                } catch {
                    result.malformed += 1
                    if result.firstErrors.count < 5 { result.firstErrors.append("\(tp)@\(m.offset): \(error)") }
                }
                if m.offset + 1 >= last { remaining.remove(tp) }
            }
        }
        result.events = Event.sortedByTime(result.events)
        return result
    }
}

import Foundation
import StreamRecKafka
import StreamRecTestSupport

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

/// Polls until `count` messages arrived or `maxPolls` polls (of `pollTimeout` each) found too few.
/// Bounded by poll count, not by wall-clock assertions.
func drain(
    _ consumer: KafkaConsumer,
    count: Int,
    maxPolls: Int = 300,
    pollTimeout: Duration = .milliseconds(100)
) throws -> [KafkaMessage] {
    var messages: [KafkaMessage] = []
    for _ in 0..<maxPolls where messages.count < count {
        messages += try consumer.poll(maxMessages: count - messages.count, timeout: pollTimeout)
    }
    return messages
}

/// Polls until the consumer has an assignment (group join finished) or `maxPolls` ran out;
/// returns it with the messages polled meanwhile.
func awaitAssignment(
    _ consumer: KafkaConsumer,
    maxPolls: Int = 300
) throws -> (assignment: [TopicPartition], messages: [KafkaMessage]) {
    var messages: [KafkaMessage] = []
    for _ in 0..<maxPolls {
        messages += try consumer.poll(timeout: .milliseconds(100))
        let assigned = try consumer.assignment()
        if !assigned.isEmpty { return (assigned, messages) }
    }
    return ([], messages)
}

/// Sends `count` keyed messages `key-i` / `value-i` and flushes; returns the producer for its counters.
@discardableResult
func produce(
    _ count: Int,
    to topic: String,
    bootstrap: String,
    partition: Int32? = nil,
    headers: [KafkaHeader] = []
) throws -> KafkaProducer {
    let producer = try KafkaProducer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
    for i in 0..<count {
        try producer.send(
            topic: topic,
            partition: partition,
            key: bytes("key-\(i)"),
            value: bytes("value-\(i)"),
            headers: headers
        )
    }
    try producer.flush(timeout: .seconds(30))
    return producer
}

/// Thread-safe recorder for values passed to callbacks.
final class Recorder<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Value] = []

    func append(_ value: Value) {
        lock.lock()
        defer { lock.unlock() }
        stored.append(value)
    }

    var values: [Value] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

import ArgumentParser
import Foundation
import StreamRecCore
import StreamRecKafka

struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce an event log to a Kafka topic as JSON events keyed by user (demos, backfills, benchmarks).",
        discussion: """
            Each event is written per schemas/event.schema.json with the user id as the message key, so all of a \
            user's events land in one partition, in order — the layout `serve` expects for scale-out.
            """
    )

    @Argument(help: "Event log (.jsonl, .csv, .tsv or u.data).")
    var log: String
    @Option(help: "Target topic.")
    var topic: String = "events"
    @Option(help: "Kafka bootstrap servers.")
    var brokers: String = "127.0.0.1:9092"
    @Option(help: "Log format: auto | jsonl | csv | tsv.")
    var format: EventLogFormat = .auto
    @Option(help: "Create the topic with this many partitions first (0 = don't create).")
    var partitions: Int32 = 1

    func run() throws {
        let events = try readTimeOrderedLog(log, format: format)
        let config = KafkaConfig(bootstrapServers: brokers)
        if partitions > 0 {
            try KafkaAdmin(configuration: config).createTopics([.init(topic, partitions: partitions)])
        }
        let producer = try KafkaProducer(configuration: config.merging(["linger.ms": "20", "compression.type": "lz4"]))
        let started = Date()
        for event in events {
            try producer.send(
                topic: topic,
                key: Array(event.user.utf8),
                value: EventEncoder.jsonBytes(event),
                timestamp: nil
            )
        }
        try producer.flush(timeout: .seconds(120))
        let seconds = Date().timeIntervalSince(started)
        guard producer.failedCount == 0 else { throw CLIError("\(producer.failedCount) messages failed delivery") }
        stderr(
            String(
                format: "produced %d events to %@ in %.1f s (%.0f events/s)",
                events.count,
                topic,
                seconds,
                Double(events.count) / max(seconds, 1e-9)
            )
        )
    }
}

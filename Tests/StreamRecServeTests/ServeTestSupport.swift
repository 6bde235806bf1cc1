import Foundation
import Logging
import StreamRecCore
import StreamRecKafka
import StreamRecServe
import StreamRecTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A small planted-structure log, deterministic.
func sampleEvents(_ count: Int, users: Int = 120, items: Int = 200, seed: UInt64 = 5) throws -> [Event] {
    var c = SyntheticLogConfig()
    c.users = users
    c.items = items
    c.events = count
    c.topics = 8
    c.seed = seed
    return try SyntheticLogGenerator.generate(c)
}

/// Produces events as JSON keyed by user (one partition unless the topic has more) and flushes.
func produce(_ events: [Event], to topic: String, bootstrap: String) throws {
    let producer = try KafkaProducer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
    for e in events { try producer.send(topic: topic, key: Array(e.user.utf8), value: EventEncoder.jsonBytes(e)) }
    try producer.flush(timeout: .seconds(30))
}

func produceRaw(_ values: [[UInt8]], to topic: String, bootstrap: String) throws {
    let producer = try KafkaProducer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
    for v in values { try producer.send(topic: topic, key: nil, value: v) }
    try producer.flush(timeout: .seconds(30))
}

func createTopics(_ names: [String], bootstrap: String, compacted: Set<String> = []) throws {
    let admin = try KafkaAdmin(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
    try admin.createTopics(
        names.map { .init($0, partitions: 1, config: compacted.contains($0) ? ["cleanup.policy": "compact"] : [:]) }
    )
}

/// Reads every message currently in `topic` (assign mode, no group).
func readAll(_ topic: String, bootstrap: String) throws -> [KafkaMessage] {
    let consumer = try KafkaConsumer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
    defer { try? consumer.close() }
    var ends: [TopicPartition: Int64] = [:]
    var starts: [TopicPartition: Int64] = [:]
    for tp in try consumer.partitions(of: topic) {
        let marks = try consumer.watermarkOffsets(topic: tp.topic, partition: tp.partition)
        if marks.high > marks.low {
            ends[tp] = marks.high
            starts[tp] = marks.low
        }
    }
    guard !starts.isEmpty else { return [] }
    try consumer.assign(starts)
    var out: [KafkaMessage] = []
    let total = ends.reduce(0) { $0 + Int($1.value - starts[$1.key]!) }
    for _ in 0..<600 where out.count < total {
        out += try consumer.poll(maxMessages: 5000, timeout: .milliseconds(100))
    }
    return out.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
}

/// The committed offset of a group for partition 0 of `topic`.
func committedOffset(group: String, topic: String, bootstrap: String) throws -> Int64? {
    let consumer = try KafkaConsumer(
        configuration: KafkaConfig(["bootstrap.servers": bootstrap, "group.id": group]),
        logger: quietLogger
    )
    defer { try? consumer.close() }
    return try consumer.committed([TopicPartition(topic, 0)])[TopicPartition(topic, 0)]
}

/// What the learner must end up as after applying `events` in order: the determinism reference.
func referenceLearner(
    _ events: [Event],
    config: ModelConfig = ModelConfig(),
    weights: EventWeights = EventWeights()
) throws -> OnlineLearner {
    var l = try OnlineLearner(config: config)
    for e in events {
        _ = try? l.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: weights.effectiveWeight(e))
    }
    return l
}

/// A `streamrec serve` child process (stderr captured to a file for failure messages).
final class ServeProcess {
    let process = Process()
    let logPath: String

    init(arguments: [String], logPath: String) throws {
        self.logPath = logPath
        process.executableURL = URL(fileURLWithPath: try TestPaths.streamrecBinary())
        process.arguments = ["serve"] + arguments
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw TestFailure("cannot create \(logPath)")
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        var env = ProcessInfo.processInfo.environment
        env = env.filter { !$0.key.hasPrefix("STREAMREC_") }
        process.environment = env
        try process.run()
    }

    func kill9() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() { Glibc.kill(process.processIdentifier, SIGTERM) }

    /// Waits for exit, polling (bounded); returns the exit status or nil if it didn't exit.
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { return nil }
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// Common `serve` flags for a test: unique group/instance, given topics and snapshot directory.
func serveArguments(
    bootstrap: String,
    topic: String,
    recs: String,
    dlq: String,
    group: String,
    snapshots: String,
    extra: [String] = []
) -> [String] {
    [
        "--brokers", bootstrap, "--topics", topic, "--recommendations-topic", recs, "--dead-letter-topic", dlq,
        "--group", group, "--instance-id", "\(group)-0", "--snapshot-dir", snapshots, "--http-port", "0",
        "--log-level", "info",
    ] + extra
}

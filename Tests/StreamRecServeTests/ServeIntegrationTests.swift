import Foundation
import ServiceLifecycle
import StreamRecCore
import StreamRecKafka
import StreamRecKafkaTestKit
import StreamRecServe
import StreamRecTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `streamrec serve` against the real broker process (scripts/kafka-local.sh).
@Suite(
    "serve against a real broker",
    .serialized,
    .realBroker
)
struct ServeIntegrationTests {
    struct Names {
        let topic = uniqueName("events"), recs = uniqueName("recs"), dlq = uniqueName("dlq"),
            group = uniqueName("group")
    }

    func configuration(_ n: Names, bootstrap: String, snapshots: String) -> ServeConfig {
        var c = ServeConfig()
        c.kafka.bootstrapServers = bootstrap
        c.kafka.eventTopics = [n.topic]
        c.kafka.recommendationsTopic = n.recs
        c.kafka.deadLetterTopic = n.dlq
        c.kafka.groupID = n.group
        c.kafka.instanceID = n.group + "-0"
        c.snapshots.directory = snapshots
        c.http.enabled = false
        c.exitWhenIdleMillis = 2500
        return c
    }

    @Test("round trip: events in, schema-valid top-K lists out, keyed by user, consumed items excluded")
    func roundTrip() async throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let events = try sampleEvents(1500)
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap, compacted: [n.recs])
        try produce(events, to: n.topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        let service = try StreamingLearnerService(
            configuration: configuration(n, bootstrap: bootstrap, snapshots: dir),
            logger: quietLogger
        )
        try await service.run()

        let schema = try JSONSchemaValidator(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("schemas/recommendations.schema.json")
        )
        let messages = try readAll(n.recs, bootstrap: bootstrap)
        #expect(!messages.isEmpty)
        var latest: [String: RecommendationList] = [:]
        for m in messages {
            #expect(try schema.errors(JSONValue(parsing: m.value)) == [])
            let list = try RecommendationList(jsonBytes: m.value)
            #expect(m.key.map { String(decoding: $0, as: UTF8.self) } == list.user)
            #expect(list.items.count == 10)
            #expect(list.sourceOffset?.topic == n.topic)
            latest[list.user] = list
        }
        // Every user got a list, and the latest list never contains an item the user consumed.
        let consumed = Dictionary(grouping: events, by: \.user).mapValues { Set($0.map(\.item)) }
        #expect(Set(latest.keys) == Set(consumed.keys))
        for (user, list) in latest { #expect(consumed[user]!.isDisjoint(with: list.items.map(\.item))) }

        // The final snapshot holds exactly the reference model and the next offset.
        let snapshot = try #require(try SnapshotStore(directory: dir).loadNewestGood()).snapshot
        #expect(snapshot.position.offset(topic: n.topic, partition: 0) == Int64(events.count))
        #expect(snapshot.learner == (try referenceLearner(events)))
        #expect(try committedOffset(group: n.group, topic: n.topic, bootstrap: bootstrap) == Int64(events.count))
    }

    @Test("poison messages go to the dead-letter topic with their origin while good ones keep flowing")
    func deadLetters() async throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let good = try sampleEvents(400)
        let poison: [[UInt8]] = [
            Array("{not json".utf8),
            Array(#"{"user":"u1","ts":1}"#.utf8),  // no item
            Array(#"{"user":"\#(String(repeating: "x", count: 300))","item":"i1","ts":1}"#.utf8),  // id over the cap
            [UInt8](repeating: UInt8(ascii: " "), count: 70_000),  // oversized
        ]
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        // good[0..<100], poison, good[100...]: poison sits at offsets 100...103.
        try produce(Array(good[0..<100]), to: n.topic, bootstrap: bootstrap)
        try produceRaw(poison, to: n.topic, bootstrap: bootstrap)
        try produce(Array(good[100...]), to: n.topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        let status = ServeStatus()
        let service = try StreamingLearnerService(
            configuration: configuration(n, bootstrap: bootstrap, snapshots: dir),
            status: status,
            logger: quietLogger
        )
        try await service.run()

        let dead = try readAll(n.dlq, bootstrap: bootstrap)
        #expect(dead.count == poison.count)
        let schema = try JSONSchemaValidator(
            contentsOf: TestPaths.packageRoot.appendingPathComponent("schemas/dead-letter.schema.json")
        )
        var offsets: [Int] = []
        for (record, original) in zip(dead, poison) {
            #expect(try schema.errors(JSONValue(parsing: record.value)) == [])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(record.value)) as? [String: Any])
            offsets.append(try #require(json["source_offset"] as? Int))
            #expect(json["source_topic"] as? String == n.topic)
            #expect(!(json["reason"] as? String ?? "").isEmpty)
            let payload = Data(base64Encoded: json["payload_base64"] as? String ?? "") ?? Data()
            #expect(json["payload_bytes"] as? Int == original.count)
            #expect(Array(payload) == Array(original.prefix(payload.count)))
        }
        #expect(offsets == [100, 101, 102, 103])
        #expect(status.current.deadLettered == 4)
        let snapshot = try #require(try SnapshotStore(directory: dir).loadNewestGood()).snapshot
        #expect(snapshot.learner == (try referenceLearner(good)))
        #expect(snapshot.position.offset(topic: n.topic, partition: 0) == Int64(good.count + poison.count))
    }

    @Test("replay from Kafka reads exactly the requested offset range, without joining a group")
    func kafkaReplaySource() throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let events = try sampleEvents(300)
        try createTopics([n.topic], bootstrap: bootstrap)
        try produce(events, to: n.topic, bootstrap: bootstrap)
        try produceRaw([Array("not an event".utf8)], to: n.topic, bootstrap: bootstrap)
        var source = KafkaEventSource(configuration: KafkaConfig(bootstrapServers: bootstrap), topic: n.topic)
        source.from = .offset(100)
        source.to = .offset(250)
        let range = try source.read(logger: quietLogger)
        #expect(range.events == Array(events[100..<250]))
        #expect(range.ranges[TopicPartition(n.topic, 0)] == 100...249)
        source.from = .beginning
        source.to = .end
        let all = try source.read(logger: quietLogger)
        #expect(all.events == events && all.malformed == 1 && all.messages == 301)
    }

    @Test("kill -9 at random points, restart, and the model ends bit-identical with no event lost or doubled")
    func crashSafety() throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let events = try sampleEvents(6000)
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap, compacted: [n.recs])
        try produce(events, to: n.topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        let args = serveArguments(
            bootstrap: bootstrap,
            topic: n.topic,
            recs: n.recs,
            dlq: n.dlq,
            group: n.group,
            snapshots: dir,
            extra: ["--snapshot-every", "700"]
        )
        var rng = RandomSource(seed: UInt64(Date().timeIntervalSince1970))
        var kills = 0
        for attempt in 0..<3 {
            let p = try ServeProcess(arguments: args, logPath: dir + "/serve-\(attempt).log")
            Thread.sleep(forTimeInterval: 0.8 + Double(rng.nextInt(below: 1500)) / 1000)
            if p.process.isRunning {
                p.kill9()
                kills += 1
            }
        }
        let final = try ServeProcess(arguments: args + ["--exit-when-idle", "2500"], logPath: dir + "/serve-final.log")
        let status = final.wait(seconds: 120)
        #expect(status == 0, "final run did not finish cleanly:\n\(final.log.suffix(3000))")
        #expect(kills > 0)
        let loaded = try #require(try SnapshotStore(directory: dir).loadNewestGood())
        #expect(loaded.snapshot.learner.counters.events == Int64(events.count))
        #expect(loaded.snapshot.position.offset(topic: n.topic, partition: 0) == Int64(events.count))
        #expect(loaded.snapshot.learner == (try referenceLearner(events)))
    }

    @Test("SIGTERM finishes the batch, writes a final snapshot, commits offsets and exits 0")
    func gracefulShutdown() throws {
        let bootstrap = try TestBroker.bootstrap()
        let n = Names()
        let events = try sampleEvents(2100)
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        try produce(events, to: n.topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        let p = try ServeProcess(
            arguments: serveArguments(
                bootstrap: bootstrap,
                topic: n.topic,
                recs: n.recs,
                dlq: n.dlq,
                group: n.group,
                snapshots: dir,
                extra: ["--snapshot-every", "500"]
            ),
            logPath: dir + "/serve.log"
        )
        // Wait (bounded) until the interval snapshots show all but the last 100 events were consumed.
        for _ in 0..<600 {
            if let c = try? committedOffset(group: n.group, topic: n.topic, bootstrap: bootstrap), c >= 2000 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: 0.5)
        p.terminate()
        let status = p.wait(seconds: 60)
        #expect(status == 0, "serve did not exit 0 on SIGTERM:\n\(p.log.suffix(3000))")
        #expect(p.log.contains("final snapshot") || p.log.contains("reason=shutdown"))
        let loaded = try #require(try SnapshotStore(directory: dir).loadNewestGood())
        #expect(loaded.snapshot.learner.counters.events == 2100)
        #expect(try committedOffset(group: n.group, topic: n.topic, bootstrap: bootstrap) == 2100)
    }
}

/// A private broker (own port and data dir) so restarting it can't disturb other suites.
@Suite(
    "serve survives a broker restart",
    .serialized,
    .realBroker
)
struct BrokerRestartTests {
    /// Runs the project's broker launcher. posix_spawn + waitpid rather than Foundation's Process:
    /// the launcher leaves the broker running in the background, and Process.waitUntilExit can hang
    /// on that inherited child.
    func broker(_ verb: String, port: Int, home: String) throws {
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/kafka-local.sh").path
        let command =
            "KAFKA_PORT=\(port) BROKER_HOME='\(home)' exec bash '\(script)' \(verb) </dev/null >>'\(home)/launcher.log' 2>&1"
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else {
            throw TestFailure("cannot spawn launcher")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw TestFailure("kafka-local.sh \(verb) failed (status \(status))") }
    }

    @Test("the learner reconnects after the broker restarts mid-run and finishes with every event applied once")
    func brokerRestart() throws {
        _ = try TestBroker.bootstrap()  // gate: CI requires the broker tooling to be installed
        let port = 20_000 + Int.random(in: 0..<9_000)
        let home = try temporaryDirectory()
        try broker("start", port: port, home: home)
        defer { try? broker("stop", port: port, home: home) }
        let bootstrap = "127.0.0.1:\(port)"
        let n = ServeIntegrationTests.Names()
        let events = try sampleEvents(3000)
        try createTopics([n.topic, n.recs, n.dlq], bootstrap: bootstrap)
        try produce(Array(events[..<1500]), to: n.topic, bootstrap: bootstrap)
        let dir = try temporaryDirectory()
        let p = try ServeProcess(
            arguments: serveArguments(
                bootstrap: bootstrap,
                topic: n.topic,
                recs: n.recs,
                dlq: n.dlq,
                group: n.group,
                snapshots: dir,
                extra: ["--snapshot-every", "500"]
            ),
            logPath: dir + "/serve.log"
        )
        for _ in 0..<600 {
            if let c = try? committedOffset(group: n.group, topic: n.topic, bootstrap: bootstrap), c >= 1500 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        try broker("stop", port: port, home: home)
        Thread.sleep(forTimeInterval: 2)
        #expect(p.process.isRunning, "serve must survive the outage:\n\(p.log.suffix(2000))")
        try broker("start", port: port, home: home)
        try produce(Array(events[1500...]), to: n.topic, bootstrap: bootstrap)
        // Snapshots every 500 events commit 3000 once everything after the restart was applied.
        for _ in 0..<1200 {
            if let c = try? committedOffset(group: n.group, topic: n.topic, bootstrap: bootstrap), c >= 3000 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        p.terminate()
        let status = p.wait(seconds: 60)
        #expect(status == 0, "serve did not finish after the restart:\n\(p.log.suffix(3000))")
        let loaded = try #require(try SnapshotStore(directory: dir).loadNewestGood())
        #expect(loaded.snapshot.learner.counters.events == Int64(events.count))
        #expect(loaded.snapshot.learner == (try referenceLearner(events)))
    }
}

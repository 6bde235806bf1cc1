import Foundation
import StreamRecCore
import StreamRecServe
import Testing
import StreamRecKafka

@Suite("serve configuration: TOML subset, environment, validation")
struct ConfigTests {
    @Test("TOML subset parses tables, quoted keys, strings, numbers, booleans, arrays and comments")
    func tomlSubset() throws {
        let t = try TOMLTable(parsing: """
            # comment
            top = "x"
            [kafka]
            bootstrap_servers = "a:1,b:2"   # trailing comment
            event_topics = ["e1", 'e2']
            topic_partitions = 1_000
            [kafka.properties]
            "sasl.mechanism" = "PLAIN"
            [model]
            learning_rate = 0.05
            use_item_bias = false
            escaped = "tab\\there \\u00e9"
            """)
        #expect(t["top"] == .string("x"))
        #expect(t["kafka", "event_topics"] == .array([.string("e1"), .string("e2")]))
        #expect(t["kafka", "topic_partitions"] == .integer(1000))
        #expect(t.table(["kafka", "properties"]) == ["sasl.mechanism": .string("PLAIN")])
        #expect(t["model", "learning_rate"] == .float(0.05))
        #expect(t["model", "use_item_bias"] == .bool(false))
        #expect(t["model", "escaped"] == .string("tab\there é"))
    }

    @Test("TOML errors name the line", arguments: [
        ("a = ", 1), ("[x]\nb = bare", 2), ("c = \"open", 1), ("d = 1\nd = 2", 2), ("[[arr]]", 1),
    ])
    func tomlErrors(text: String, line: Int) {
        do {
            _ = try TOMLTable(parsing: text)
            Issue.record("parsed invalid TOML: \(text)")
        } catch {
            #expect(error.line == line)
        }
    }

    @Test("file, then environment override; model keys map to ModelConfig; secrets come from env")
    func layering() throws {
        let path = NSTemporaryDirectory() + "streamrec-config-\(UUID().uuidString).toml"
        try """
            [kafka]
            bootstrap_servers = "file:9092"
            event_topics = ["clicks", "views"]
            [kafka.properties]
            "security.protocol" = "SASL_SSL"
            [model]
            factors = 16
            learning_rate = 0.02
            loss = "isgd"
            [snapshots]
            every_events = 5000
            [serve]
            k = 20
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let c = try ServeConfig.load(path: path, environment: [
            "STREAMREC_KAFKA_BOOTSTRAP_SERVERS": "env:9092",
            "STREAMREC_MODEL_NEGATIVES": "8",
            "STREAMREC_KAFKA_PROP_SASL_PASSWORD": "hunter2",
            "STREAMREC_HTTP_SERVICE_HOST": "10.0.0.1",  // a Kubernetes service link: ignored
            "HOME": "/root",
        ])
        #expect(c.kafka.bootstrapServers == "env:9092")
        #expect(c.kafka.eventTopics == ["clicks", "views"])
        #expect(c.model.factors == 16 && c.model.learningRate == 0.02 && c.model.loss == .isgd && c.model.negatives == 8)
        #expect(c.snapshots.everyEvents == 5000 && c.k == 20)
        #expect(c.ignoredEnvironment == ["STREAMREC_HTTP_SERVICE_HOST"])
        let consumer = c.consumerKafkaConfig
        #expect(consumer["sasl.password"] == "hunter2" && consumer["security.protocol"] == "SASL_SSL")
        #expect(!consumer.description.contains("hunter2"))
        #expect(c.producerKafkaConfig["enable.idempotence"] == "true")
        #expect(c.http.host == "127.0.0.1")
    }

    @Test("unknown keys and bad values are clear errors", arguments: [
        "[kafka]\nbootstrap = \"x\"", "[model]\nfactorz = 3", "[nope]\na = 1", "[serve]\nk = 0", "[model]\nfactors = 0",
        "[snapshots]\nevery_events = \"many\"",
    ])
    func rejects(text: String) throws {
        let path = NSTemporaryDirectory() + "streamrec-config-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: (any Error).self) { try ServeConfig.load(path: path, environment: [:]) }
    }

    @Test("the shipped example config loads")
    func exampleConfig() throws {
        let path = Paths.packageRoot.appendingPathComponent("deploy/streamrec.toml").path
        let c = try ServeConfig.load(path: path, environment: [:])
        #expect(!c.kafka.eventTopics.isEmpty)
        #expect(c.http.host == "127.0.0.1")
    }
}

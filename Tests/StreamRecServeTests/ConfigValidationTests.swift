import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

@Suite("serve configuration: start-up validation")
struct ConfigValidationTests {
    func load(_ text: String, environment: [String: String] = [:]) async throws -> ServeConfig {
        let path = try temporaryConfig(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await ServeConfig.load(path: path, environment: environment)
    }

    @Test(
        "out-of-range, negative and wrongly typed values are start-up errors naming the setting",
        arguments: [
            ("http:\n  port: 70000", "http.port"),
            ("http:\n  port: 0", "http.port"),
            ("http:\n  port: eighty", "http.port"),
            ("limits:\n  max_message_bytes: -1", "limits.max_message_bytes"),
            ("limits:\n  max_id_bytes: 0", "limits.max_id_bytes"),
            ("kafka:\n  event_topics: 5", "kafka.event_topics"),
            ("kafka:\n  event_topics: [\"a b\"]", "topic name"),
            ("kafka:\n  topic_partitions: 0", "kafka.topic_partitions"),
            ("kafka:\n  create_topics: \"maybe\"", "kafka.create_topics"),
            ("snapshots:\n  retain: 0", "snapshots.retain"),
            ("snapshots:\n  every_events: -5", "snapshots.every_events"),
            ("snapshots:\n  every_seconds: -1.0", "snapshots.every_seconds"),
            ("snapshots:\n  on_missing: ignore", "snapshots.on_missing"),
            ("serve:\n  batch_size: 0", "serve.batch_size"),
            ("serve:\n  exit_when_idle_ms: -1", "serve.exit_when_idle_ms"),
            ("serve:\n  timestamp_unit: hours", "serve.timestamp_unit"),
            ("weights:\n  view: -2.0", "weights.view"),
            ("logging:\n  level: \"loud\"", "logging.level"),
        ]
    )
    func rejectsFile(text: String, setting: String) async throws {
        do {
            _ = try await load(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".contains(setting), "\(error)")
        }
    }

    @Test(
        "environment values are range-checked like file values",
        arguments: [
            ("STREAMREC_HTTP_PORT", "99999", "http.port"),
            ("STREAMREC_SNAPSHOTS_RETAIN", "0", "snapshots.retain"),
            ("STREAMREC_LIMITS_MAX_MESSAGE_BYTES", "-1", "limits.max_message_bytes"),
            ("STREAMREC_HTTP_ENABLED", "sometimes", "http.enabled"),
            ("STREAMREC_MODEL_LOSS", "hinge", "model.loss"),
        ]
    )
    func rejectsEnvironment(name: String, value: String, setting: String) async throws {
        do {
            _ = try await load("", environment: [name: value])
            Issue.record("accepted \(name)=\(value)")
        } catch {
            #expect("\(error)".contains(setting), "\(error)")
        }
    }

    @Test(
        "unknown STREAMREC_SERVE_* / STREAMREC_KAFKA_* variables are errors",
        arguments: [
            "STREAMREC_SERVE_BATCHSIZE", "STREAMREC_KAFKA_BOOTSTRAP", "STREAMREC_HTTP_PROT",
        ]
    )
    func unknownEnvironment(name: String) async throws {
        do {
            _ = try await load("", environment: [name: "1"])
            Issue.record("accepted \(name)")
        } catch {
            #expect("\(error)".contains(name), "\(error)")
        }
    }

    @Test("Kubernetes service links and unrelated STREAMREC_* variables are tolerated")
    func serviceLinks() async throws {
        let c = try await load(
            "",
            environment: [
                "STREAMREC_KAFKA_SERVICE_HOST": "10.0.0.2",
                "STREAMREC_KAFKA_SERVICE_PORT": "9092",
                "STREAMREC_KAFKA_SERVICE_PORT_BROKER": "9092",
                "STREAMREC_KAFKA_PORT": "tcp://10.0.0.2:9092",
                "STREAMREC_KAFKA_PORT_9092_TCP": "tcp://10.0.0.2:9092",
                "STREAMREC_KAFKA_PORT_9092_TCP_ADDR": "10.0.0.2",
                "STREAMREC_KAFKA_PORT_9092_TCP_PORT": "9092",
                "STREAMREC_KAFKA_PORT_9092_TCP_PROTO": "tcp",
                "STREAMREC_HTTP_PORT": "tcp://10.0.0.3:8080",
                "STREAMREC_SASL_PASSWORD": "compose-file-variable",
                "STREAMREC_SERVE_K": "20",
            ]
        )
        #expect(c.k == 20)
        #expect(c.http.port == 8080)
        #expect(c.ignoredEnvironment.count == 10)
    }

    @Test("text from the environment still stands for numbers and lists")
    func environmentTyping() async throws {
        let c = try await load(
            "",
            environment: [
                "STREAMREC_HTTP_PORT": "9090", "STREAMREC_KAFKA_EVENT_TOPICS": "a,b",
                "STREAMREC_KAFKA_GROUP_ID": "5",
            ]
        )
        #expect(c.http.port == 9090 && c.kafka.eventTopics == ["a", "b"] && c.kafka.groupID == "5")
    }

    @Test("the defaults validate; HTTP port checks only apply with HTTP on")
    func defaults() throws {
        try ServeConfig().validate()
        var c = ServeConfig()
        c.http.enabled = false
        c.http.port = 0
        try c.validate()
    }
}

@Suite("serve command line: validation")
struct ServeCommandLineValidationTests {
    @Test("a negative --k is a range error, not 'Missing value'")
    func negativeK() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try ServeProcess(
            arguments: ["--k", "-5", "--http-port", "0", "--snapshot-dir", dir],
            logPath: dir + "/serve.log"
        )
        let status = p.wait(seconds: 60)
        #expect(status != nil && status != 0)
        #expect(p.log.contains("serve.k must be in 1...1000"), "\(p.log)")
        #expect(!p.log.contains("Missing value"))
    }
}

import Foundation
@testable import StreamRecServe
import StreamRecTestSupport
import Testing

@Suite("serve configuration: start-up validation")
struct ConfigValidationTests {
    func load(_ text: String, environment: [String: String] = [:]) throws -> ServeConfig {
        let path = NSTemporaryDirectory() + "streamrec-config-\(UUID().uuidString).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ServeConfig.load(path: path, environment: environment)
    }

    @Test("out-of-range, negative and wrongly typed values are start-up errors naming the setting", arguments: [
        ("[http]\nport = 70000", "http.port"),
        ("[http]\nport = 0", "http.port"),
        ("[http]\nport = \"8080\"", "http.port"),
        ("[limits]\nmax_message_bytes = -1", "limits.max_message_bytes"),
        ("[limits]\nmax_id_bytes = 0", "limits.max_id_bytes"),
        ("[kafka]\nevent_topics = 5", "kafka.event_topics"),
        ("[kafka]\nevent_topics = [\"a b\"]", "topic name"),
        ("[kafka]\ntopic_partitions = 0", "kafka.topic_partitions"),
        ("[kafka]\ncreate_topics = \"yes\"", "kafka.create_topics"),
        ("[snapshots]\nretain = 0", "snapshots.retain"),
        ("[snapshots]\nevery_events = -5", "snapshots.every_events"),
        ("[snapshots]\nevery_seconds = -1.0", "snapshots.every_seconds"),
        ("[serve]\nbatch_size = 0", "serve.batch_size"),
        ("[serve]\nexit_when_idle_ms = -1", "serve.exit_when_idle_ms"),
        ("[weights]\nview = -2.0", "weights.view"),
        ("[logging]\nlevel = \"loud\"", "logging.level"),
    ])
    func rejectsFile(text: String, setting: String) throws {
        do {
            _ = try load(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".contains(setting), "\(error)")
        }
    }

    @Test("environment values are range-checked like file values", arguments: [
        ("STREAMREC_HTTP_PORT", "99999", "http.port"),
        ("STREAMREC_SNAPSHOTS_RETAIN", "0", "snapshots.retain"),
        ("STREAMREC_LIMITS_MAX_MESSAGE_BYTES", "-1", "limits.max_message_bytes"),
    ])
    func rejectsEnvironment(name: String, value: String, setting: String) throws {
        do {
            _ = try load("", environment: [name: value])
            Issue.record("accepted \(name)=\(value)")
        } catch {
            #expect("\(error)".contains(setting), "\(error)")
        }
    }

    @Test("unknown STREAMREC_SERVE_* / STREAMREC_KAFKA_* variables are errors", arguments: [
        "STREAMREC_SERVE_BATCHSIZE", "STREAMREC_KAFKA_BOOTSTRAP", "STREAMREC_HTTP_PROT",
    ])
    func unknownEnvironment(name: String) throws {
        do {
            _ = try load("", environment: [name: "1"])
            Issue.record("accepted \(name)")
        } catch {
            #expect("\(error)".contains(name), "\(error)")
        }
    }

    @Test("Kubernetes service links and unrelated STREAMREC_* variables are tolerated")
    func serviceLinks() throws {
        let c = try load("", environment: [
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
        ])
        #expect(c.k == 20)
        #expect(c.http.port == 8080)
        #expect(c.ignoredEnvironment.count == 10)
    }

    @Test("text from the environment still stands for numbers and lists")
    func environmentTyping() throws {
        let c = try load("", environment: ["STREAMREC_HTTP_PORT": "9090", "STREAMREC_KAFKA_EVENT_TOPICS": "a,b",
                                           "STREAMREC_KAFKA_GROUP_ID": "5"])
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
        let p = try ServeProcess(arguments: ["--k", "-5", "--http-port", "0", "--snapshot-dir", dir], logPath: dir + "/serve.log")
        let status = p.wait(seconds: 60)
        #expect(status != nil && status != 0)
        #expect(p.log.contains("serve.k must be in 1...1000"), "\(p.log)")
        #expect(!p.log.contains("Missing value"))
    }
}

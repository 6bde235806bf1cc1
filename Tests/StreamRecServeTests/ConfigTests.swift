import Configuration
import Foundation
import Hummingbird
import HummingbirdTesting
import StreamRecCore
import StreamRecKafka
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

/// Writes `text` to a temporary file with `suffix`; the caller removes it.
func temporaryConfig(_ text: String, suffix: String = ".yaml") throws -> String {
    let path = NSTemporaryDirectory() + "streamrec-config-\(UUID().uuidString)\(suffix)"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("serve configuration: YAML file, environment, flags, one reader")
struct ConfigTests {
    @Test("file, then environment override; model keys map to ModelConfig; secrets come from env")
    func layering() async throws {
        let path = try temporaryConfig(
            """
            kafka:
              bootstrap_servers: "file:9092"
              event_topics: [clicks, views]
              properties:
                security.protocol: SASL_SSL
            model:
              factors: 16
              learning_rate: 0.02
              loss: isgd
              user_ttl: 2d
            snapshots:
              every_events: 5000
            serve:
              k: 20
            """
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try await ServeConfig.load(
            path: path,
            environment: [
                "STREAMREC_KAFKA_BOOTSTRAP_SERVERS": "env:9092",
                "STREAMREC_MODEL_NEGATIVES": "8",
                "STREAMREC_KAFKA_PROP_SASL_PASSWORD": "hunter2",
                "STREAMREC_HTTP_SERVICE_HOST": "10.0.0.1",  // a Kubernetes service link: ignored
                "HOME": "/root",
            ]
        )
        #expect(c.kafka.bootstrapServers == "env:9092")
        #expect(c.kafka.eventTopics == ["clicks", "views"])
        #expect(
            c.model.factors == 16 && c.model.learningRate == 0.02 && c.model.loss == .isgd && c.model.negatives == 8
        )
        #expect(c.model.userTTL == 2 * 86_400_000)
        #expect(c.snapshots.everyEvents == 5000 && c.k == 20)
        #expect(c.ignoredEnvironment == ["STREAMREC_HTTP_SERVICE_HOST"])
        let consumer = c.consumerKafkaConfig
        #expect(consumer["sasl.password"] == "hunter2" && consumer["security.protocol"] == "SASL_SSL")
        #expect(!consumer.description.contains("hunter2"))
        #expect(c.producerKafkaConfig["enable.idempotence"] == "true")
        #expect(c.http.host == "127.0.0.1")
    }

    @Test("precedence: flags > environment > file > defaults, key by key")
    func precedence() async throws {
        let path = try temporaryConfig("model:\n  factors: 16\n  negatives: 6\n  seed: 7\nserve:\n  k: 20\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try await ServeConfig.load(
            ConfigSources(
                flags: ["model.factors": "24", "kafka.event_topics": "a,b"],
                environment: ["STREAMREC_MODEL_FACTORS": "20", "STREAMREC_MODEL_NEGATIVES": "5"],
                filePath: path
            )
        )
        #expect(c.model.factors == 24)  // flag over environment over file
        #expect(c.model.negatives == 5)  // environment over file
        #expect(c.model.seed == 7 && c.k == 20)  // file over defaults
        #expect(c.model.learningRate == ModelConfig().learningRate)  // defaults
        #expect(c.kafka.eventTopics == ["a", "b"])
    }

    @Test("librdkafka property tables from file and environment, consumer and producer too")
    func propertyTables() async throws {
        let path = try temporaryConfig(
            """
            kafka:
              consumer_properties:
                auto.offset.reset: latest
              producer_properties:
                linger:
                  ms: 20
            weights:
              like: 4
            """
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try await ServeConfig.load(
            path: path,
            environment: [
                "STREAMREC_KAFKA_PROPERTIES_SASL_USERNAME": "u",
                "STREAMREC_KAFKA_CONSUMER_PROPERTIES_FETCH_MAX_BYTES": "1000",
                "STREAMREC_WEIGHTS_ADD_TO_CART": "4.5",
            ]
        )
        #expect(c.kafka.properties == ["sasl.username": "u"])
        #expect(
            c.consumerKafkaConfig["auto.offset.reset"] == "latest" && c.consumerKafkaConfig["fetch.max.bytes"] == "1000"
        )
        #expect(c.producerKafkaConfig["linger.ms"] == "20")
        #expect(
            c.weights.byType["like"] == 4 && c.weights.byType["add_to_cart"] == 4.5 && c.weights.byType["view"] == 1
        )
    }

    @Test(
        "unknown keys and bad values are clear errors",
        arguments: [
            "kafka:\n  bootstrap: x", "model:\n  factorz: 3", "nope:\n  a: 1", "serve:\n  k: 0", "model:\n  factors: 0",
            "snapshots:\n  every_events: many", "model:\n  loss: hinge", "model:\n  user_ttl: soon",
            "model:\n  seed: -1",
            "kafka: [a]", "- a",
        ]
    )
    func rejects(text: String) async throws {
        let path = try temporaryConfig(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        await #expect(throws: (any Error).self) { try await ServeConfig.load(path: path, environment: [:]) }
    }

    @Test("a TOML file (the old format) is refused with a note on the new one", arguments: [".toml", ".conf"])
    func tomlRefused(suffix: String) async throws {
        let path = try temporaryConfig("[kafka]\nbootstrap_servers = \"a:1\"\n", suffix: suffix)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try await ServeConfig.load(path: path, environment: [:])
            Issue.record("accepted TOML")
        } catch {
            #expect("\(error)".contains("is TOML, but the config format is now YAML"), "\(error)")
        }
    }

    @Test("the shipped example config loads and lists every model setting")
    func exampleConfig() async throws {
        let path = TestPaths.packageRoot.appendingPathComponent("deploy/streamrec.yaml").path
        let c = try await ServeConfig.load(path: path, environment: [:])
        #expect(!c.kafka.eventTopics.isEmpty)
        #expect(c.http.host == "127.0.0.1")
        #expect(c.model == ModelConfig())  // the example spells out the defaults
        let file = try ConfigFile(path: path)
        for s in ModelSettings.all {
            #expect(file.keys.contains("model." + s.key), "model.\(s.key) missing from the example")
        }
    }

    @Test("the model table lists every ModelConfig field once, under its snake_case key")
    func modelTableComplete() throws {
        let fields =
            try JSONSerialization.jsonObject(with: Data(ModelConfig().canonicalJSON.utf8)) as? [String: Any] ?? [:]
        let keys = ModelSettings.all.map(\.key)
        #expect(Set(keys).count == keys.count)
        let camel = keys.map { key in
            key.split(separator: "_").enumerated().map { i, p in
                i == 0 ? String(p) : p.prefix(1).uppercased() + p.dropFirst()
            }
            .joined().lowercased()
        }
        #expect(Set(camel) == Set(fields.keys.map { $0.lowercased() }))
    }

    @Test("every model setting changed survives the config file, the environment and flags")
    func modelEveryFieldRoundTrip() async throws {
        let changed = ModelSettings.everyFieldChanged()
        let yaml = "model:\n" + ModelSettings.all.map { "  \($0.key): \($0.show(changed))" }.joined(separator: "\n")
        let path = try temporaryConfig(yaml + "\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = try await ServeConfig.load(path: path, environment: [:])
        #expect(fromFile.model == changed)
        var environment: [String: String] = [:]
        for s in ModelSettings.all { environment[s.environmentName] = s.show(changed) }
        #expect(try await ServeConfig.load(path: nil, environment: environment).model == changed)
        var flags: [String: String] = [:]
        for s in ModelSettings.all { flags["model." + s.key] = s.show(changed) }
        #expect(try await ServeConfig.load(ConfigSources(flags: flags)).model == changed)
    }

    @Test("kafka.leave_group_on_shutdown: on by default, off from the file or the environment")
    func leaveGroupOnShutdown() async throws {
        #expect(ServeConfig().kafka.leaveGroupOnShutdown)
        let path = try temporaryConfig("kafka:\n  leave_group_on_shutdown: false\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try await !ServeConfig.load(path: path, environment: [:]).kafka.leaveGroupOnShutdown)
        let env = try await ServeConfig.load(
            path: nil,
            environment: ["STREAMREC_KAFKA_LEAVE_GROUP_ON_SHUTDOWN": "false"]
        )
        #expect(!env.kafka.leaveGroupOnShutdown)
        await #expect(throws: (any Error).self) {
            try await ServeConfig.load(path: nil, environment: ["STREAMREC_KAFKA_LEAVE_GROUP_ON_SHUTDOWN": "sometimes"])
        }
    }

    @Test("limits.max_id_bytes reaches the HTTP API, not only the event decoder")
    func maxIdBytesReachesHTTP() async throws {
        let path = try temporaryConfig("limits:\n  max_id_bytes: 16\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try await ServeConfig.load(path: path, environment: [:])
        #expect(c.httpConfig.maxIdBytes == 16 && c.limits.maxIdBytes == 16)
        let api = OperationsAPI(
            configuration: c.httpConfig,
            learner: LiveLearner(try makeLearner()),
            status: ServeStatus(),
            metrics: StreamRecMetrics(recallK: 10),
            readiness: ReadinessPolicy()
        )
        try await Application(router: api.makeRouter()).test(.router) { client in
            let long = try await client.execute(
                uri: "/users/" + String(repeating: "x", count: 17) + "/recommendations",
                method: .get
            )
            #expect(long.status == .badRequest)
            #expect(String(buffer: long.body).contains("longer than 16 bytes"))
            let fits = try await client.execute(
                uri: "/users/" + String(repeating: "x", count: 16) + "/recommendations",
                method: .get
            )
            #expect(fits.status != .badRequest)
        }
    }
}

@Suite("serve configuration: secrets")
struct ConfigSecretTests {
    @Test(
        "credential-like values are read as secrets: swift-configuration's access log and the Kafka config redact them"
    )
    func secretsRedacted() async throws {
        let path = try temporaryConfig(
            """
            kafka:
              properties:
                security.protocol: SSL
                ssl.key.password: file-secret-4711
                sasl.jaas.config: jaas-secret-0815
            """
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let accessLog = AccessRecorder()
        let c = try await ServeConfig.load(
            ConfigSources(
                environment: [
                    "STREAMREC_KAFKA_PROP_SASL_PASSWORD": "env-secret-1234",
                    "STREAMREC_KAFKA_PROPERTIES_SASL_OAUTHBEARER_CLIENT_SECRET": "env-secret-5678",
                ],
                filePath: path,
                accessReporter: accessLog
            )
        )
        let consumer = c.consumerKafkaConfig
        #expect(consumer["ssl.key.password"] == "file-secret-4711" && consumer["sasl.password"] == "env-secret-1234")
        let secrets = ["file-secret-4711", "jaas-secret-0815", "env-secret-1234", "env-secret-5678"]
        let log = accessLog.lines.joined(separator: "\n")
        #expect(log.contains("kafka.properties.ssl.key.password") && log.contains("kafka.properties.sasl.password"))
        #expect(log.contains("<REDACTED>"))
        #expect(log.contains("SSL"))  // non-secret values are shown
        for text in [log, consumer.description, "\(consumer)", c.producerKafkaConfig.description] {
            for s in secrets { #expect(!text.contains(s), "secret \(s) printed") }
        }
    }

    @Test("a wrongly typed secret is reported without its value")
    func typeErrorHidesValue() async throws {
        do {
            _ = try await ServeConfig.load(ConfigSources(environment: ["STREAMREC_HTTP_PORT": "pw-9876"]))
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("http.port") && !"\(error)".contains("pw-9876"), "\(error)")
        }
    }
}

/// Keeps each access event as swift-configuration renders it for its access logs (`AccessLogger`,
/// `FileAccessLogger` via CONFIG_ACCESS_LOG_FILE use the same summary).
final class AccessRecorder: AccessReporter, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    var lines: [String] { lock.withLock { recorded } }
    func report(_ event: AccessEvent) { lock.withLock { recorded.append(event.description) } }
}

@Suite("configuration docs")
struct ConfigDocsTests {
    @Test(
        "docs/configuration.md holds the model settings table generated from ModelSettings (UPDATE_DOCS=1 rewrites it)"
    )
    func modelTableInDocs() throws {
        try GeneratedSection.check(
            file: "docs/configuration.md",
            begin: "<!-- model-settings:begin -->\n",
            end: "<!-- model-settings:end -->",
            expected: ModelSettings.markdownTable() + "\n"
        )
    }

    @Test("the CLI's model flags are the ones generated from ModelSettings (UPDATE_DOCS=1 rewrites them)")
    func modelFlagsInOptions() throws {
        try GeneratedSection.check(
            file: "Sources/streamrec/ModelOptions.swift",
            begin: "    // model-flags:begin (generated from ModelSettings; edit the table, not these lines)\n",
            end: "    // model-flags:end",
            expected: ModelSettings.optionProperties() + "\n"
        )
    }

    @Test(
        "deploy/streamrec.yaml's model settings are the ones generated from ModelSettings (UPDATE_DOCS=1 rewrites them)"
    )
    func modelSectionInExample() throws {
        try GeneratedSection.check(
            file: "deploy/streamrec.yaml",
            begin: "  # model-settings:begin (generated from ModelSettings; edit the table, not these lines)\n",
            end: "  # model-settings:end",
            expected: ModelSettings.exampleYAML() + "\n"
        )
    }
}

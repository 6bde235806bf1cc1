import StreamRecKafka
import StreamRecTestSupport
import Testing

@Suite("Config and errors")
struct ConfigAndErrorTests {
    static let secrets: [String: String] = [
        "sasl.password": "hunter2-pw",
        "sasl.jaas.config": "jaas-secret-value",
        "ssl.key.password": "keypass-123",
        "ssl.key.pem": "-----BEGIN PRIVATE KEY-----abc",
        "sasl.oauthbearer.client.secret": "oauth-s3cr3t",
        "sasl.oauthbearer.config": "principal=me token-ish",
    ]

    @Test func descriptionRedactsSecretsButShowsOrdinaryValues() {
        var config = KafkaConfig(bootstrapServers: "broker-a:9092", properties: Self.secrets)
        config["security.protocol"] = "SASL_SSL"
        config["sasl.username"] = "alice"
        let renderings = [
            config.description, String(reflecting: config), "\(config)",
            {
                var s = ""
                dump(config, to: &s)
                return s
            }(),
        ]
        for rendering in renderings {
            for secret in Self.secrets.values { #expect(!rendering.contains(secret), "leaked in: \(rendering)") }
            #expect(rendering.contains("sasl.password"))
            #expect(rendering.contains("[REDACTED]"))
            #expect(rendering.contains("broker-a:9092"))
            #expect(rendering.contains("alice"))
        }
        #expect(config.redactedProperties["sasl.username"] == "alice")
        #expect(Self.secrets.keys.allSatisfy { KafkaConfig.isSecret($0) })
        #expect(!KafkaConfig.isSecret("bootstrap.servers"))
    }

    @Test func unknownKeyIsNamedButValueIsNot() throws {
        let config = KafkaConfig(bootstrapServers: "127.0.0.1:1", properties: ["no.such.property": "value-xyz"])
        let error = try #require(throws: KafkaError.self) {
            try KafkaProducer(configuration: config, logger: quietLogger)
        }
        #expect(error.kind == .configuration)
        #expect(error.message.contains("no.such.property"))
        #expect(!error.description.contains("value-xyz"))
    }

    @Test func invalidValueForSecretKeyIsNamedButNotShown() throws {
        let config = KafkaConfig(
            bootstrapServers: "127.0.0.1:1",
            properties: ["session.timeout.ms": "password-not-a-number"]
        )
        let error = try #require(throws: KafkaError.self) {
            try KafkaConsumer(configuration: config.merging(["group.id": "g"]), logger: quietLogger)
        }
        #expect(error.kind == .configuration)
        #expect(error.message.contains("session.timeout.ms"))
        #expect(!error.description.contains("password-not-a-number"))
    }

    @Test func typedAccessorsMapToLibrdkafkaKeys() {
        var config = KafkaConfig()
        config.bootstrapServers = "b:1"
        config.clientID = "c"
        config.groupID = "g"
        config.groupInstanceID = "i"
        #expect(
            config.properties == [
                "bootstrap.servers": "b:1", "client.id": "c", "group.id": "g", "group.instance.id": "i",
            ]
        )
    }

    @Test(arguments: [
        (KafkaError.Code.transport, true, false),
        (.allBrokersDown, true, false),
        (.timedOut, true, false),
        (.leaderNotAvailable, true, false),
        (.notLeaderForPartition, true, false),
        (.queueFull, true, false),
        (.fatal, false, true),
        (.fencedInstanceID, false, true),
        (.topicAlreadyExists, false, false),
        (.messageSizeTooLarge, false, false),
    ])
    func errorClassification(code: KafkaError.Code, retriable: Bool, fatal: Bool) {
        let error = KafkaError(code: code, message: "m")
        #expect(error.isRetriable == retriable)
        #expect(error.isFatal == fatal)
        #expect(!code.name.isEmpty)
        #expect(error.description.contains(code.name))
    }

    @Test func codeNamesComeFromLibrdkafka() {
        #expect(KafkaError.Code.transport.name == "_TRANSPORT")
        #expect(KafkaError.Code.topicAlreadyExists.name == "TOPIC_ALREADY_EXISTS")
        #expect(KafkaError.Code(rawValue: 3) == .unknownTopicOrPartition)
    }

    @Test func subscribeWithoutGroupIsRejected() throws {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfig(bootstrapServers: "127.0.0.1:1"),
            logger: quietLogger
        )
        let error = try #require(throws: KafkaError.self) { try consumer.subscribe(topics: ["t"]) }
        #expect(error.kind == .invalidArgument)
        #expect(!consumer.isGroupMember)
    }
}

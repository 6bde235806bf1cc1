import Foundation
import Logging
import StreamRecCore
import StreamRecKafka
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

@Suite("user-state changelog: settings and record formats")
struct ChangelogConfigTests {
    func load(_ text: String, environment: [String: String] = [:]) async throws -> ServeConfig {
        let path = try temporaryConfig(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await ServeConfig.load(path: path, environment: environment)
    }

    @Test("defaults: off, topic derived from the group, 60 s restore bound; file and environment set them")
    func settings() async throws {
        let d = try await load("kafka:\n  group_id: learners\n")
        #expect(!d.changelog.enabled && d.changelog.restoreTimeoutMillis == 60_000)
        #expect(d.changelog.topicName(groupID: d.kafka.groupID) == "learners.user-state")
        let c = try await load(
            "changelog:\n  enabled: true\n  topic: state\n  restore_timeout_ms: 5000\n",
            environment: ["STREAMREC_CHANGELOG_RESTORE_TIMEOUT_MS": "7000"]
        )
        #expect(
            c.changelog.enabled && c.changelog.topicName(groupID: "g") == "state"
                && c.changelog.restoreTimeoutMillis == 7000
        )
    }

    @Test(
        "bad values are start-up errors naming the setting",
        arguments: [
            ("changelog:\n  restore_timeout_ms: 5", "changelog.restore_timeout_ms"),
            ("changelog:\n  enabled: true\n  topic: \"a b\"", "changelog.topic"),
            ("changelog:\n  enabled: true\n  topic: events", "changelog.topic"),
            ("changelog:\n  enabled: true\nkafka:\n  group_id: \"g:1\"", "changelog.topic"),
            ("changelog:\n  enable: true", "changelog.enable"),
            (
                "changelog:\n  enabled: true\n  topic: shared\nsync:\n  enabled: true\n  topic: shared",
                "changelog.topic"
            ),
        ]
    )
    func rejects(text: String, setting: String) async throws {
        let error = await #expect(throws: (any Error).self) { try await load(text) }
        #expect("\(error.map { "\($0)" } ?? "")".contains(setting))
    }

    @Test("checkpoints round-trip, their keys are never a user id's, corrupt ones are refused")
    func checkpoint() throws {
        let cp = ChangelogCheckpoint(topicPartition: TopicPartition("events", 3), next: 1234, learned: 999)
        #expect(try ChangelogCheckpoint(decoding: cp.encoded()) == cp)
        let key = ChangelogCheckpoint.key(cp.topicPartition)
        #expect(ChangelogCheckpoint.isCheckpointKey(key))
        #expect(String(validating: key, as: UTF8.self) == nil)  // 0xFF: not UTF-8, so not a user id
        #expect(!ChangelogCheckpoint.isCheckpointKey(Array("\u{0}cp:3:events".utf8)))
        var bad = cp.encoded()
        bad[bad.count - 6] ^= 1
        #expect(throws: ChangelogError.self) { try ChangelogCheckpoint(decoding: bad) }
    }

    @Test("the snapshot section round-trips; the reader keeps the latest user record before the newest checkpoint")
    func sectionAndDigest() throws {
        var s = ChangelogSnapshotSection()
        s.partitions = [
            .init(topicPartition: TopicPartition("e", 0), learned: 10, held: true, pending: ["a", "b"]),
            .init(topicPartition: TopicPartition("e", 1)),
        ]
        s.slotPartition = [0, -1, 1, 0]
        #expect(try ChangelogSnapshotSection(decoding: s.encoded()) == s)

        let tp = TopicPartition("e", 0)
        func m(_ offset: Int64, _ key: [UInt8], _ value: [UInt8]) -> KafkaMessage {
            KafkaMessage(topic: "e.user-state", partition: 0, offset: offset, key: key, value: value)
        }
        let messages = [
            m(0, Array("u1".utf8), [1]), m(1, Array("u2".utf8), [2]),
            m(2, ChangelogCheckpoint.key(tp), ChangelogCheckpoint(topicPartition: tp, next: 5, learned: 5).encoded()),
            m(3, Array("u1".utf8), [3]),
            m(4, ChangelogCheckpoint.key(tp), ChangelogCheckpoint(topicPartition: tp, next: 9, learned: 9).encoded()),
            m(5, Array("u2".utf8), [4]),  // after the newest checkpoint: an unfinished durable step
        ]
        let c = ChangelogReader.digest(messages, logger: quietLogger)
        #expect(c.checkpoints[tp]?.next == 9 && c.checkpoints[tp]?.learned == 9)
        #expect(c.users == ["u1": [3], "u2": [2]])
        #expect(c.records == 6)
    }
}

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
        let (u1a, u1b, u2a, u2b) = (Self.user("u1", 1), Self.user("u1", 3), Self.user("u2", 2), Self.user("u2", 4))
        let messages = [
            m(0, Array("u1".utf8), u1a.encoded()), m(1, Array("u2".utf8), u2a.encoded()),
            m(2, ChangelogCheckpoint.key(tp), ChangelogCheckpoint(topicPartition: tp, next: 5, learned: 5).encoded()),
            m(3, Array("u1".utf8), u1b.encoded()),
            m(4, ChangelogCheckpoint.key(tp), ChangelogCheckpoint(topicPartition: tp, next: 9, learned: 9).encoded()),
            m(5, Array("u2".utf8), u2b.encoded()),  // after the newest checkpoint: an unfinished durable step
        ]
        let c = ChangelogReader.digest(messages, seal: Self.noSeal, highWatermarks: [tp: 9], logger: quietLogger)
        #expect(c.checkpoints[tp]?.next == 9 && c.checkpoints[tp]?.learned == 9)
        #expect(c.users == ["u1": u1b, "u2": u2a])
        #expect(c.records == 6)
        #expect(c.rejected.isEmpty)
    }

    static let noSeal = RecordSeal(key: nil, domain: .changelog)

    static func user(_ id: String, _ events: UInt32) -> UserStateRecord {
        UserStateRecord(
            user: id,
            configFingerprint: 7,
            factors: [0.5, -0.25],
            eventCount: events,
            firstSeen: 1,
            lastSeen: Int64(events),
            history: [.init(item: "i\(events)", timestamp: Int64(events))],
            seen: ["i\(events)"]
        )
    }

    @Test("forged changelog records are refused by reason: the previous checkpoint and user record stand")
    func forgedRecords() throws {
        let tp = TopicPartition("e", 3)
        func m(_ offset: Int64, _ key: [UInt8], _ value: [UInt8]) -> KafkaMessage {
            KafkaMessage(topic: "e.user-state", partition: 3, offset: offset, key: key, value: value)
        }
        let good = Self.user("u1", 1)
        var truncated = Self.user("u1", 2).encoded()
        truncated.removeLast(7)
        let other = Self.user("u9", 5).encoded()
        let messages = [
            m(0, Array("u1".utf8), good.encoded()),
            m(1, ChangelogCheckpoint.key(tp), ChangelogCheckpoint(topicPartition: tp, next: 40, learned: 40).encoded()),
            m(2, Array("u1".utf8), truncated),  // a truncated record before the next checkpoint
            m(3, Array("u2".utf8), other),  // another user's record under this key
            // The probe's checkpoint: next = 1e9 for partition 3, far past the high watermark.
            m(
                4,
                ChangelogCheckpoint.key(tp),
                ChangelogCheckpoint(topicPartition: tp, next: 1_000_000_000, learned: 0).encoded()
            ),
            // More learned events than offsets; a checkpoint of partition 1 written into partition 3.
            m(5, ChangelogCheckpoint.key(tp), ChangelogCheckpoint(topicPartition: tp, next: 50, learned: 51).encoded()),
            m(
                6,
                ChangelogCheckpoint.key(TopicPartition("e", 1)),
                ChangelogCheckpoint(topicPartition: TopicPartition("e", 1), next: 1, learned: 1).encoded()
            ),
            m(7, ChangelogCheckpoint.key(tp), [0x53, 0x52, 0x43, 0x4b, 1, 2, 3, 4, 5]),
            m(8, ChangelogCheckpoint.key(tp), ChangelogCheckpoint(topicPartition: tp, next: 60, learned: 60).encoded()),
        ]
        let c = ChangelogReader.digest(messages, seal: Self.noSeal, highWatermarks: [tp: 60], logger: quietLogger)
        #expect(c.checkpoints[tp]?.next == 60, "the newest valid checkpoint wins; the forged ones are skipped")
        #expect(c.checkpoints[TopicPartition("e", 1)] == nil)
        #expect(c.users == ["u1": good], "the truncated record keeps the last good one")
        #expect(c.rejected[.unreadableUserRecord] == 2)
        #expect(c.rejected[.checkpointOutOfRange] == 2)
        #expect(c.rejected[.undecodableCheckpoint] == 2)
        // Without a valid checkpoint after them, records are not restored at all.
        let onlyForged = ChangelogReader.digest(
            Array(messages[3...4]),
            seal: Self.noSeal,
            highWatermarks: [tp: 60],
            logger: quietLogger
        )
        #expect(onlyForged.checkpoints.isEmpty && onlyForged.users.isEmpty)
    }

    @Test("with a record secret, unsigned and wrongly signed changelog records are refused")
    func authenticated() throws {
        let tp = TopicPartition("e", 0)
        let seal = RecordSeal(key: Array(repeating: 0x42, count: 32), domain: .changelog)
        let forger = RecordSeal(key: Array(repeating: 0x43, count: 32), domain: .changelog)
        func m(_ offset: Int64, _ key: [UInt8], _ value: [UInt8]) -> KafkaMessage {
            KafkaMessage(topic: "e.user-state", partition: 0, offset: offset, key: key, value: value)
        }
        let u1 = Self.user("u1", 1)
        let cpKey = ChangelogCheckpoint.key(tp)
        let messages = [
            m(0, Array("u1".utf8), seal.seal(u1.encoded(), key: Array("u1".utf8))),
            m(1, Array("u1".utf8), Self.user("u1", 9).encoded()),  // unsigned
            m(2, Array("u2".utf8), forger.seal(Self.user("u2", 9).encoded(), key: Array("u2".utf8))),
            m(3, cpKey, seal.seal(ChangelogCheckpoint(topicPartition: tp, next: 7, learned: 7).encoded(), key: cpKey)),
            m(4, cpKey, ChangelogCheckpoint(topicPartition: tp, next: 8, learned: 8).encoded()),
        ]
        let c = ChangelogReader.digest(messages, seal: seal, highWatermarks: [tp: 9], logger: quietLogger)
        #expect(c.checkpoints[tp]?.next == 7)
        #expect(c.users == ["u1": u1])
        #expect(c.rejected[.unsigned] == 2 && c.rejected[.badSignature] == 1)
        // A reader without the secret still reads sealed records (a group being switched over).
        let open = ChangelogReader.digest(
            Array(messages[0...0] + messages[3...3]),
            seal: Self.noSeal,
            highWatermarks: [tp: 9],
            logger: quietLogger
        )
        #expect(open.users == ["u1": u1] && open.checkpoints[tp]?.next == 7)
    }
}

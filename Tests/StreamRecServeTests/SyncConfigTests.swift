import Foundation
import StreamRecCore
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

@Suite("sync configuration")
struct SyncConfigTests {
    @Test("defaults: off, topic and learner id derived from the group and instance id")
    func defaults() throws {
        let c = ServeConfig()
        #expect(!c.sync.enabled && c.sync.intervalMillis == 10_000)
        #expect(c.sync.resolvedTopic(c.kafka) == "streamrec.model-sync")
        #expect(c.sync.resolvedLearnerID(c.kafka) == "streamrec-0")
        try c.validate()
    }

    @Test("keys are read from file and environment; bad values name their key")
    func readAndValidate() async throws {
        let path = try temporaryConfig(
            "sync:\n  enabled: true\n  topic: \"shared-items\"\n  interval_ms: 500\n  learner_id: \"learner-a\"\n"
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try await ServeConfig.load(path: path, environment: [:])
        #expect(
            c.sync.enabled && c.sync.topic == "shared-items" && c.sync.intervalMillis == 500
                && c.sync.learnerID == "learner-a"
        )
        let env = try await ServeConfig.load(
            path: nil,
            environment: ["STREAMREC_SYNC_ENABLED": "true", "STREAMREC_SYNC_LEARNER_ID": "b"]
        )
        #expect(env.sync.resolvedLearnerID(env.kafka) == "b")
        // serve.learners: each learner of the process publishes under its own name.
        var group = env
        group.learners = 2
        #expect(group.forLearner(1).sync.resolvedLearnerID(group.forLearner(1).kafka) == "b-1")
        for (vars, setting) in [
            (["STREAMREC_SYNC_INTERVAL_MS": "10"], "sync.interval_ms"),
            (["STREAMREC_SYNC_TOPIC": "no spaces"], "sync.topic"),
            (["STREAMREC_SYNC_ENABLED": "true", "STREAMREC_SYNC_TOPIC": "events"], "sync.topic"),
            (["STREAMREC_SYNC_ENABLED": "true", "STREAMREC_KAFKA_INSTANCE_ID": ""], "sync.learner_id"),
            (
                ["STREAMREC_SYNC_ENABLED": "true", "STREAMREC_SYNC_LEARNER_ID": String(repeating: "x", count: 300)],
                "sync.learner_id"
            ),
        ] {
            await #expect { try await ServeConfig.load(path: nil, environment: vars) } throws: {
                "\($0)".contains(setting)
            }
        }
    }

    @Test("admission limits and record secrets: read, bounded, and never printed")
    func limitsAndSecrets() async throws {
        let secret = "sync-secret-" + String(repeating: "7", count: 32)
        let path = try temporaryConfig(
            "sync:\n  max_abs_delta: 50\n  max_sequence_step: 3\n  record_secret: \"\(secret)\"\n"
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let accessLog = AccessRecorder()
        let changelogSecret = "changelog-secret-" + String(repeating: "9", count: 32)
        let c = try await ServeConfig.load(
            ConfigSources(
                environment: ["STREAMREC_CHANGELOG_RECORD_SECRET": changelogSecret],
                filePath: path,
                accessReporter: accessLog
            )
        )
        #expect(c.sync.limits.maxAbsValue == 50 && c.sync.limits.maxSequenceStep == 3)
        #expect(c.sync.recordSecret?.bytes == Array(secret.utf8))
        #expect(c.changelog.recordSecret?.bytes == Array(changelogSecret.utf8))
        let defaults = ServeConfig()
        #expect(defaults.sync.recordSecret == nil && defaults.sync.limits == ItemDeltaLimits())
        for text in [accessLog.lines.joined(separator: "\n"), "\(c)", String(reflecting: c), "\(c.sync)"] {
            #expect(!text.contains(secret) && !text.contains(changelogSecret), "a record secret was printed")
        }
        for (vars, setting) in [
            (["STREAMREC_SYNC_MAX_ABS_DELTA": "0"], "sync.max_abs_delta"),
            (["STREAMREC_SYNC_MAX_ABS_DELTA": "1e30"], "sync.max_abs_delta"),
            (["STREAMREC_SYNC_MAX_SEQUENCE_STEP": "0"], "sync.max_sequence_step"),
            (["STREAMREC_SYNC_RECORD_SECRET": "short"], "sync.record_secret"),
            (["STREAMREC_CHANGELOG_RECORD_SECRET": "short"], "changelog.record_secret"),
        ] {
            await #expect { try await ServeConfig.load(path: nil, environment: vars) } throws: {
                "\($0)".contains(setting) && !"\($0)".contains("short")
            }
        }
    }

    @Test("the snapshot section keeps the learner id; another id is refused at restore")
    func extensionRoundTrip() throws {
        let bytes = ItemSyncLink.encodeExtension(learnerID: "learner-a", state: [1, 2, 3])
        let decoded = try ItemSyncLink.decodeExtension(bytes)
        #expect(decoded.learnerID == "learner-a" && decoded.state == [1, 2, 3])
        #expect(throws: (any Error).self) { try ItemSyncLink.decodeExtension([200, 0, 1]) }
    }
}

@Suite("sync status and metrics")
struct SyncStatusTests {
    @Test("/stats carries status.sync with bytes per event; /metrics the streamrec_sync_* gauges")
    func statusAndMetrics() throws {
        var sync = SyncStatus(topic: "g.model-sync", learnerID: "a")
        sync.published(bytes: 3000, events: 10)
        sync.published(bytes: 1000, events: 10)
        sync.batchesIn = 3
        sync.bytesIn = 5000
        sync.duplicatesSkipped = 1
        #expect(sync.batchesOut == 2 && sync.bytesPerEvent == 200)
        var status = ServeStatus.Snapshot()
        status.sync = sync
        let json = try JSONEncoder().encode(status)
        #expect(try JSONDecoder().decode(ServeStatus.Snapshot.self, from: json).sync == sync)
        #expect(String(decoding: json, as: UTF8.self).contains("\"bytesPerEvent\":200"))
        let metrics = StreamRecMetrics()
        metrics.refresh(status: status, learner: .init(users: 0, items: 0, counters: LearnerCounters()), now: 0)
        let samples = parsePrometheus(metrics.render())
        #expect(samples[key(StreamRecMetrics.SyncName.bytesPerEvent)] == 200)
        #expect(samples[key(StreamRecMetrics.SyncName.bytesOut)] == 4000)
        #expect(samples[key(StreamRecMetrics.SyncName.batchesIn)] == 3)
        #expect(samples[key(StreamRecMetrics.SyncName.duplicatesSkipped)] == 1)
        #expect(samples[key(StreamRecMetrics.SyncName.rejectedRecords, [("reason", "non_finite")])] == 0)
        var refused = status
        refused.sync?.reject(.nonFinite)
        refused.sync?.reject(.nonFinite)
        refused.sync?.reject(.sequenceJump)
        refused.changelogRejected["checkpoint_out_of_range"] = 4
        metrics.refresh(status: refused, learner: .init(users: 0, items: 0, counters: LearnerCounters()), now: 0)
        let after = parsePrometheus(metrics.render())
        #expect(after[key(StreamRecMetrics.SyncName.rejected)] == 3)
        #expect(after[key(StreamRecMetrics.SyncName.rejectedRecords, [("reason", "non_finite")])] == 2)
        #expect(after[key(StreamRecMetrics.SyncName.rejectedRecords, [("reason", "sequence_jump")])] == 1)
        #expect(
            after[key(StreamRecMetrics.ChangelogName.rejectedRecords, [("reason", "checkpoint_out_of_range")])] == 4
        )
        #expect(refused.sync?.rejectedByReason == ["non_finite": 2, "sequence_jump": 1])
        // Sync off: no sync gauges.
        let off = StreamRecMetrics()
        off.refresh(
            status: ServeStatus.Snapshot(),
            learner: .init(users: 0, items: 0, counters: LearnerCounters()),
            now: 0
        )
        #expect(!off.render().contains("streamrec_sync_"))
    }
}

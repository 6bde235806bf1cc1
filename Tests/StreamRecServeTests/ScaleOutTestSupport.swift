import Foundation
import StreamRecCore
import StreamRecKafka
import StreamRecTestSupport
import Testing

@testable import StreamRecServe

/// One `streamrec serve` learner of a scale-out test: its YAML config (own instance id, snapshot
/// directory and HTTP port; changelog and sync on), the child process, and its `/stats`.
final class GroupLearner {
    let id: String
    let directory: String
    let configPath: String
    let httpPort: Int
    private(set) var process: ServeProcess?
    private var runs = 0

    init(id: String, root: String, bootstrap: String, names: ScaleOutNames, syncIntervalMillis: Int) throws {
        self.id = id
        directory = root + "/" + id
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configPath = directory + "/serve.yaml"
        httpPort = BrokerOutageTests.freePort()
        // Everything through the file (no flags): the way a deployment configures a group.
        let yaml = """
            kafka:
              bootstrap_servers: "\(bootstrap)"
              event_topics: [\(names.events)]
              recommendations_topic: \(names.recs)
              dead_letter_topic: \(names.dlq)
              group_id: \(names.group)
              instance_id: \(id)
              leave_group_on_shutdown: true
              create_topics: false
            snapshots:
              directory: "\(directory)/snapshots"
              every_events: 300
              every_seconds: 1.0
            changelog:
              enabled: true
            sync:
              enabled: true
              interval_ms: \(syncIntervalMillis)
              learner_id: \(id)
            http:
              enabled: true
              host: 127.0.0.1
              port: \(httpPort)
            serve:
              exit_when_idle_ms: 0
              online_evaluation_every: 0
            logging:
              level: info
            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func start() throws {
        runs += 1
        process = try ServeProcess(arguments: ["--config", configPath], logPath: directory + "/serve-\(runs).log")
    }

    var isRunning: Bool { process?.process.isRunning ?? false }
    var log: String { process?.log ?? "" }

    /// `/stats`, nil while the server doesn't answer.
    func stats() -> [String: Any]? {
        guard let r = BrokerOutageTests.get("http://127.0.0.1:\(httpPort)/stats"), r.status == 200 else { return nil }
        return r.body
    }

    /// Owned partitions → next offset to apply, from `/stats` (nil while not answering).
    func positions() -> [Int32: Int64]? {
        guard let status = stats()?["status"] as? [String: Any], let parts = status["partitions"] as? [[String: Any]]
        else { return nil }
        var out: [Int32: Int64] = [:]
        for p in parts {
            if let n = p["partition"] as? Int, let pos = p["position"] as? Int { out[Int32(n)] = Int64(pos) }
        }
        return out
    }

    /// Every learned event is in a durable snapshot (so also in the changelog and, as an item delta, on
    /// the sync topic): no interval snapshot (and offset commit) is due.
    func isSnapshotted() -> Bool {
        guard let s = stats() else { return false }
        return Self.snapshotted(s)
    }

    /// Snapshotted, nothing waits to be published, and the sync topic is read to `syncEnd`.
    func isQuiet(syncEnd: Int64) -> Bool {
        guard let s = stats(), Self.snapshotted(s), let status = s["status"] as? [String: Any],
            let sync = status["sync"] as? [String: Any]
        else { return false }
        return (sync["pendingBatches"] as? Int) == 0 && (sync["nextOffset"] as? Int).map(Int64.init) == syncEnd
    }

    private static func snapshotted(_ s: [String: Any]) -> Bool {
        guard let status = s["status"] as? [String: Any], let learner = s["learner"] as? [String: Any],
            let counters = learner["counters"] as? [String: Any], let events = counters["events"] as? Int
        else { return false }
        return events == (status["lastSnapshot"] as? [String: Any])?["events"] as? Int ?? 0
    }

    func terminate(within seconds: Double = 90) -> Int32? {
        guard let process else { return nil }
        process.terminate()
        return process.wait(seconds: seconds)
    }

    func kill9() { process?.kill9() }

    /// The newest good snapshot in this learner's directory.
    func newestSnapshot() throws -> LearnerSnapshot? {
        try SnapshotStore(directory: directory + "/snapshots").loadNewestGood()?.snapshot
    }
}

struct ScaleOutNames {
    let events = uniqueName("so-events")
    let recs = uniqueName("so-recs")
    let dlq = uniqueName("so-dlq")
    let group = uniqueName("so-group")
    /// The default names streamrec derives from the group (changelog.topic / sync.topic unset).
    var changelog: String { group + ".user-state" }
    var sync: String { group + ".model-sync" }
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass (generous: the machine is shared);
/// on timeout records `what` plus `context()` (e.g. learners' logs) and throws.
func waitUntil(
    _ what: String,
    seconds: Double = 120,
    context: () -> String = { "" },
    _ condition: () throws -> Bool
) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.1)
    }
    throw TestFailure("timed out after \(Int(seconds)) s waiting for: \(what)\n\(context())")
}

/// High watermarks (next offset to be written) of every partition of `topic`.
func endOffsets(_ topic: String, bootstrap: String) throws -> [Int32: Int64] {
    let consumer = try KafkaConsumer(configuration: KafkaConfig(bootstrapServers: bootstrap), logger: quietLogger)
    defer { try? consumer.close() }
    var out: [Int32: Int64] = [:]
    for tp in try consumer.partitions(of: topic) {
        out[tp.partition] = try consumer.watermarkOffsets(topic: tp.topic, partition: tp.partition).high
    }
    return out
}

/// Item rows by external id: factors, sequence-context vector (when the model has them) and bias.
func itemRows(_ learner: OnlineLearner) -> [String: [Float]] {
    var rows: [String: [Float]] = [:]
    let model = learner.model
    for id in learner.items.ids where !id.isEmpty {
        guard let slot = learner.items.index(of: id).map(Int.init) else { continue }
        let context = slot < model.contextFactors.rows ? model.contextFactors.row(slot) : []
        rows[id] = model.itemFactors.row(slot) + context + [model.itemBias[slot]]
    }
    return rows
}

/// The learner a snapshot resumes as: its state plus every model-sync batch after the sync offset it
/// stored, applied the way serve applies them at restart (``ItemSyncLink``). A learner applies others'
/// batches between its snapshots without snapshotting them, so the file alone lags by up to one round.
func resumedLearner(_ snapshot: LearnerSnapshot, syncTopic: String, bootstrap: String) throws -> OnlineLearner {
    var learner = snapshot.learner
    let bytes = try #require(snapshot.extensions[ItemSyncLink.extensionKey], "snapshot without item-sync state")
    let (owner, state) = try ItemSyncLink.decodeExtension(bytes)
    var stream = try ItemSyncStream(decoding: state)
    stream.rebase(on: learner)
    for m in try readAll(syncTopic, bootstrap: bootstrap)
    where m.offset >= stream.readPosition && !SyncAnnouncement.isAnnouncement(m.value) {
        let publisher = String(decoding: m.key ?? [], as: UTF8.self)
        _ = try stream.apply(
            try ItemDeltaCodec.decode(m.value),
            publisherID: publisher,
            own: publisher == owner,
            to: &learner
        )
    }
    return learner
}

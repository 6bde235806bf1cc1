public import ArgumentParser
import Foundation
import StreamRecCore

/// `replay --learners N --sync-interval D`: the scale-out simulation, kept apart from
/// the single-learner path so that path stays as it was.
struct ScaleOutReplayOptions: ParsableArguments {
    @Option(
        help:
            "Simulate N learners behind a partitioned topic (users hashed to partitions like the producer does). 1 = the single-learner figures."
    )
    var learners: Int?
    @Option(help: "Partitions users are hashed to (default: one per learner); range-assigned to the learners.")
    var partitions: Int?
    @Option(help: "The producer's key partitioner: crc32 (librdkafka default) | murmur2 (Java client default).")
    var partitioner: KafkaPartitioner = .crc32
    @Option(help: "Event time between item-state merges across learners, e.g. 60s, 5m (0 = never share item state).")
    var syncInterval: SyncInterval = SyncInterval(milliseconds: 60_000)
    @Option(help: "How concurrent item deltas merge: sum (parameter-server style) | mean (model averaging).")
    var merge: ItemMergeRule = .sum
    @Flag(
        inversion: .prefixedNo,
        help: "Share the item-neighbour co-occurrence table across learners too (replayed pair ops)."
    )
    var syncNeighbors = true

    var isOn: Bool { learners != nil }

    var scaleOut: ScaleOutOptions {
        var o = ScaleOutOptions()
        o.learners = learners ?? 1
        o.partitions = partitions
        o.partitioner = partitioner
        o.syncInterval = syncInterval.milliseconds
        o.merge = merge
        o.shareNeighbors = syncNeighbors
        return o
    }

    func validate() throws {
        guard isOn || partitions == nil else { throw ValidationError("--partitions needs --learners") }
        do { try scaleOut.validate() } catch { throw ValidationError("\(error)") }
    }
}

/// `--sync-interval`: a number with an optional unit ms, s, m, h, d (no unit = ms). Its own small type
/// so this file does not depend on how the model options parse their time spans.
struct SyncInterval: ExpressibleByArgument, Sendable {
    var milliseconds: Int64

    init(milliseconds: Int64) { self.milliseconds = milliseconds }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        for (suffix, unit) in [("ms", 1.0), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("", 1)]
        where text.hasSuffix(suffix) {
            guard let n = Double(text.dropLast(suffix.count)), n.isFinite, n >= 0, n * unit <= 1e15 else { continue }
            milliseconds = Int64((n * unit).rounded())
            return
        }
        return nil
    }

    /// How `--help` shows the default: in the largest whole unit (60000 ms → `1m`), as it could be typed.
    var defaultValueDescription: String {
        for (suffix, unit): (String, Int64) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds >= unit && milliseconds % unit == 0 {
            return "\(milliseconds / unit)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}

extension KafkaPartitioner: ExpressibleByArgument {}
extension ItemMergeRule: ExpressibleByArgument {}

/// The `--report` document of a scale-out replay.
struct ScaleOutReportFile: Codable {
    var log: String
    var scaleOut: ScaleOutSummary
    var reports: [ReplayReport]
}

extension ReplayCommand {
    /// Runs the simulation once per model config (one per `--model` ranker) and prints/writes the reports.
    func runScaleOut(events: [Event], options: ReplayOptions, configs: [ModelConfig], catalog: ItemCatalog?) throws {
        guard snapshotDir == nil, listsOut == nil, !resume else {
            throw ValidationError("--learners does not support --snapshot-dir, --resume or --lists-out")
        }
        var reports: [ReplayReport] = []
        var summary: ScaleOutSummary?
        for config in configs {
            var sim = try ScaleOutReplay(config: config, options: options, scaleOut: scaleOutOptions.scaleOut)
            sim.attach(catalog: catalog)
            sim.setProbes(probes)
            let bar = ProgressBar(label: config.ranker.rawValue, enabled: !quiet)
            let result = sim.run(events: events, progress: { done, total in bar.update(done, total) })
            bar.finish()
            reports.append(result.report)
            summary = result.summary
        }
        guard let summary else { return }
        print(ReportTable.render(reports))
        print("")
        print(
            ReportTable.markdown(
                header: [
                    "learners", "partitions", "partitioner", "sync interval", "merge", "neighbours", "sync rounds",
                    "sync bytes", "sync bytes/event",
                ],
                rows: [
                    [
                        "\(summary.learners)", "\(summary.partitions)", summary.partitioner,
                        summary.syncIntervalMs == 0 ? "0 (never)" : "\(Double(summary.syncIntervalMs) / 1000)s",
                        summary.merge,
                        summary.syncIntervalMs == 0 || summary.learners == 1
                            ? "n/a" : summary.shareNeighbors ? "shared" : "local", "\(summary.syncRounds)",
                        "\(summary.syncBytes)",
                        String(format: "%.1f", summary.syncBytesPerEvent),
                    ]
                ]
            )
        )
        print("events per learner: \(summary.eventsPerLearner.map(String.init).joined(separator: ", "))")
        if summary.slotMetricsApproximate {
            print("coverage/gini/entropy/tail count each learner's local item slots: approximate with --learners > 1.")
        }
        if let path = report {
            try writeJSON(ScaleOutReportFile(log: source, scaleOut: summary, reports: reports), to: path)
            stderr("report written to \(path)")
        }
    }
}

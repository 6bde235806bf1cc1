/// When the process should receive traffic (`/readyz`): a model is in place, partitions are assigned and
/// the learner has caught up with its input.
///
/// Liveness (`/healthz`) is deliberately not covered: a learner that is catching up is alive and must
/// not be restarted, it is just not ready to answer with fresh recommendations.
public struct ReadinessPolicy: Sendable, Equatable {
    /// Largest total lag (messages, summed over assigned partitions) at which the learner counts as caught up.
    public var maxTotalLag: Int64
    /// Whether a fresh start (no snapshot found, `ServeStatus.Snapshot.started` set by the serving loop
    /// after it decided to start empty) is acceptable. When false only a loaded snapshot passes.
    public var allowFreshStart: Bool
    /// Whether at least one partition must be assigned.
    public var requirePartitions: Bool

    public init(maxTotalLag: Int64 = 10_000, allowFreshStart: Bool = true, requirePartitions: Bool = true) {
        self.maxTotalLag = maxTotalLag
        self.allowFreshStart = allowFreshStart
        self.requirePartitions = requirePartitions
    }

    /// One named check of the probe.
    public struct Check: Sendable, Equatable, Codable {
        public var name: String
        public var ok: Bool
        public var detail: String
    }

    /// The probe's verdict: the `/readyz` JSON body.
    public struct Report: Sendable, Equatable, Codable {
        public var ready: Bool
        public var checks: [Check]
        /// Names of the failing checks (empty when ready).
        public var failing: [String]
    }

    /// Check names, stable for dashboards and alerts.
    public enum CheckName {
        public static let model = "model_loaded"
        public static let partitions = "partitions_assigned"
        public static let lag = "lag_below_threshold"
        public static let broker = "broker_connected"
        public static let snapshot = "snapshot_durable"
    }

    /// Evaluates the checks against a status snapshot. Pure, so every state is testable.
    public func evaluate(_ status: ServeStatus.Snapshot) -> Report {
        var checks: [Check] = []
        if status.snapshotLoaded {
            checks.append(
                Check(
                    name: CheckName.model,
                    ok: true,
                    detail: "snapshot loaded" + (status.loadedFrom.map { " from \($0)" } ?? "")
                )
            )
        } else if status.started && allowFreshStart {
            checks.append(Check(name: CheckName.model, ok: true, detail: "fresh start acknowledged"))
        } else {
            checks.append(
                Check(
                    name: CheckName.model,
                    ok: false,
                    detail: status.started
                        ? "no snapshot loaded and fresh starts are not allowed"
                        : "learner not started (no snapshot loaded, no fresh start acknowledged)"
                )
            )
        }
        if requirePartitions {
            checks.append(
                Check(
                    name: CheckName.partitions,
                    ok: !status.partitions.isEmpty,
                    detail: "\(status.partitions.count) partition(s) assigned"
                )
            )
        }
        // A learner cut off from the broker produces nothing and learns nothing new; a learner that can't
        // make its state durable would lose everything since the last snapshot on a crash.
        if status.started {
            checks.append(
                Check(
                    name: CheckName.broker,
                    ok: status.brokerConnected,
                    detail: status.brokerConnected ? "broker reachable" : "broker unreachable"
                )
            )
        }
        checks.append(
            Check(
                name: CheckName.snapshot,
                ok: !status.snapshotOverdue,
                detail: status.snapshotOverdue
                    ? "no durable snapshot for too long; last error: \(status.lastSnapshotError ?? "unknown")"
                    : "\(status.snapshotFailures) snapshot failure(s) so far"
            )
        )
        let unknown = status.partitions.filter { $0.highWatermark == nil }.count
        let lag = status.totalLag
        if unknown > 0 {
            checks.append(
                Check(
                    name: CheckName.lag,
                    ok: false,
                    detail: "high watermark unknown for \(unknown) partition(s)"
                )
            )
        } else {
            checks.append(
                Check(
                    name: CheckName.lag,
                    ok: lag <= maxTotalLag,
                    detail: "total lag \(lag), threshold \(maxTotalLag)"
                )
            )
        }
        let failing = checks.filter { !$0.ok }.map(\.name)
        return Report(ready: failing.isEmpty, checks: checks, failing: failing)
    }
}

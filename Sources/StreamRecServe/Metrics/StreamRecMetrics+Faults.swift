import Prometheus
import StreamRecCore

/// Fault and hardening gauges, refreshed before each scrape from ``ServeStatus`` and the
/// learner counters. Gauges holding running totals (no `_total` suffix): they are copied from state
/// that a restored snapshot may reset, which a Prometheus counter must never do.
extension StreamRecMetrics {
    public enum FaultName {
        public static let snapshotFailures = "streamrec_snapshot_failures"
        public static let snapshotFailing = "streamrec_snapshot_failing"
        public static let snapshotOverdue = "streamrec_snapshot_overdue"
        public static let brokerConnected = "streamrec_broker_connected"
        public static let producerRecreations = "streamrec_producer_recreations"
        public static let consumerRecreations = "streamrec_consumer_recreations"
        public static let seenForgotten = "streamrec_seen_forgotten"
        public static let lostPartitionRollbacks = "streamrec_lost_partition_rollbacks"
        /// SGD steps rolled back because they produced a non-finite value.
        public static let nonFiniteRejected = "streamrec_nonfinite_rejected"
        /// 1 while `/readyz` answers 200, else 0 (what alert rules page on).
        public static let ready = "streamrec_ready"
    }

    func refreshFaults(status: ServeStatus.Snapshot, learner: LearnerFacts) {
        func set(_ name: String, _ value: Double) {
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: "")).set(
                value
            )
        }
        set(FaultName.snapshotFailures, Double(status.snapshotFailures))
        set(FaultName.snapshotFailing, status.lastSnapshotError == nil ? 0 : 1)
        set(FaultName.snapshotOverdue, status.snapshotOverdue ? 1 : 0)
        set(FaultName.brokerConnected, status.brokerConnected ? 1 : 0)
        set(FaultName.producerRecreations, Double(status.producerRecreations))
        set(FaultName.consumerRecreations, Double(status.consumerRecreations))
        set(FaultName.seenForgotten, Double(learner.counters.seenForgotten))
        set(FaultName.lostPartitionRollbacks, Double(status.rollbacks))
        set(FaultName.nonFiniteRejected, Double(learner.counters.nonFiniteRejected))
    }

    /// The readiness verdict at scrape time.
    func recordReadiness(_ ready: Bool) {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: FaultName.ready, unitName: "", helpText: ""))
            .set(ready ? 1.0 : 0.0)
    }
}

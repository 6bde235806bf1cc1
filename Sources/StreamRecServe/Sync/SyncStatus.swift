import Prometheus
import StreamRecCore

/// What `/stats` (`status.sync`) and `/metrics` show of the model-sync topic: traffic both ways, so
/// "sync bytes per learned event" can be watched in production as in the backtest (docs/scale-out.md).
/// Running totals since the process started (a restart starts them again).
public struct SyncStatus: Sendable, Equatable, Codable {
    public var topic: String
    public var learnerID: String
    /// Batches this learner published (acknowledged by the broker), their encoded bytes, the events they cover.
    public var batchesOut: Int64 = 0
    public var bytesOut: Int64 = 0
    public var eventsOut: Int64 = 0
    /// Other learners' batches applied, their bytes, the events they cover; duplicates skipped (re-sent
    /// after a crash or a lost ack) and records rejected (undecodable or of another model shape).
    public var batchesIn: Int64 = 0
    public var bytesIn: Int64 = 0
    public var eventsIn: Int64 = 0
    public var duplicatesSkipped: Int64 = 0
    public var rejected: Int64 = 0
    /// `rejected` by reason (``SyncRejection`` raw values): forged or corrupt records show up here.
    public var rejectedByReason: [String: Int64] = [:]
    /// Collected batches not yet acknowledged (re-sent at the next durable snapshot or restart).
    public var pendingBatches: Int = 0
    /// Next offset of the sync topic to read.
    public var nextOffset: Int64 = -1
    /// Published bytes per event those batches cover (0 before the first).
    public var bytesPerEvent: Double = 0

    public init(topic: String, learnerID: String) {
        self.topic = topic
        self.learnerID = learnerID
    }

    mutating func reject(_ reason: SyncRejection) {
        rejected += 1
        rejectedByReason[reason.rawValue, default: 0] += 1
    }

    mutating func published(bytes: Int, events: Int64) {
        batchesOut += 1
        bytesOut += Int64(bytes)
        eventsOut += events
        bytesPerEvent = eventsOut > 0 ? Double(bytesOut) / Double(eventsOut) : 0
    }
}

/// Sync gauges, refreshed before each scrape from ``SyncStatus`` (running totals a restart resets, so
/// gauges rather than counters, like the fault gauges).
extension StreamRecMetrics {
    public enum SyncName {
        public static let bytesOut = "streamrec_sync_bytes_out"
        public static let bytesIn = "streamrec_sync_bytes_in"
        public static let batchesOut = "streamrec_sync_batches_out"
        public static let batchesIn = "streamrec_sync_batches_in"
        public static let eventsOut = "streamrec_sync_events_out"
        public static let bytesPerEvent = "streamrec_sync_bytes_per_event"
        public static let pendingBatches = "streamrec_sync_pending_batches"
        public static let duplicatesSkipped = "streamrec_sync_duplicates_skipped"
        public static let rejected = "streamrec_sync_rejected"
        /// Per reason (label `reason`), every reason present from the start so alerts see 0, not absent.
        public static let rejectedRecords = "streamrec_sync_rejected_records"
    }

    func refreshSync(_ s: SyncStatus) {
        func set(_ name: String, _ value: Double) {
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: "")).set(
                value
            )
        }
        set(SyncName.bytesOut, Double(s.bytesOut))
        set(SyncName.bytesIn, Double(s.bytesIn))
        set(SyncName.batchesOut, Double(s.batchesOut))
        set(SyncName.batchesIn, Double(s.batchesIn))
        set(SyncName.eventsOut, Double(s.eventsOut))
        set(SyncName.bytesPerEvent, s.bytesPerEvent)
        set(SyncName.pendingBatches, Double(s.pendingBatches))
        set(SyncName.duplicatesSkipped, Double(s.duplicatesSkipped))
        set(SyncName.rejected, Double(s.rejected))
        for reason in SyncRejection.allCases {
            registry.makeGauge(name: SyncName.rejectedRecords, labels: [("reason", reason.rawValue)])
                .set(Double(s.rejectedByReason[reason.rawValue] ?? 0))
        }
    }
}

import Prometheus

/// User-state changelog metrics (``UserStateChangelog``): what restores cost at assignment and what
/// durable snapshots write.
extension StreamRecMetrics {
    public enum ChangelogName {
        public static let restoreSeconds = "streamrec_changelog_restore_seconds"
        public static let restoreRecords = "streamrec_changelog_restore_records"
        public static let restoreBytes = "streamrec_changelog_restore_bytes"
        public static let restoredUsers = "streamrec_changelog_restored_users"
        public static let writtenRecords = "streamrec_changelog_written_records_total"
        public static let writtenBytes = "streamrec_changelog_written_bytes_total"
        public static let droppedUsers = "streamrec_changelog_dropped_users_total"
        public static let rejectedRecords = "streamrec_changelog_rejected_records"
    }

    private static let changelogHelp = [
        ChangelogName.restoreSeconds:
            "Duration of the last user-state restore from the changelog at partition assignment",
        ChangelogName.restoreRecords: "Changelog records read by the last restore",
        ChangelogName.restoreBytes: "Changelog bytes read by the last restore",
        ChangelogName.restoredUsers: "Users imported by the last restore",
        ChangelogName.writtenRecords: "User-state and checkpoint records written to the changelog",
        ChangelogName.writtenBytes: "Bytes written to the changelog",
        ChangelogName.droppedUsers: "Users dropped from memory because their partition was revoked",
    ]

    private static func changelogDescriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: changelogHelp[name]!)
    }

    /// The last restore (gauges: one restore per assignment).
    func recordChangelogRestore(seconds: Double, records: Int, bytes: Int, users: Int) {
        registry.makeGauge(descriptor: Self.changelogDescriptor(ChangelogName.restoreSeconds)).set(seconds)
        registry.makeGauge(descriptor: Self.changelogDescriptor(ChangelogName.restoreRecords)).set(Double(records))
        registry.makeGauge(descriptor: Self.changelogDescriptor(ChangelogName.restoreBytes)).set(Double(bytes))
        registry.makeGauge(descriptor: Self.changelogDescriptor(ChangelogName.restoredUsers)).set(Double(users))
    }

    func recordChangelogWrite(records: Int, bytes: Int) {
        registry.makeCounter(descriptor: Self.changelogDescriptor(ChangelogName.writtenRecords)).increment(
            by: Int64(records)
        )
        registry.makeCounter(descriptor: Self.changelogDescriptor(ChangelogName.writtenBytes)).increment(
            by: Int64(bytes)
        )
    }

    func recordChangelogDropped(users: Int) {
        registry.makeCounter(descriptor: Self.changelogDescriptor(ChangelogName.droppedUsers)).increment(
            by: Int64(users)
        )
    }

    /// Changelog records refused at restores, per reason (every reason present, 0 until one is refused).
    func refreshChangelogRejections(_ counts: [String: Int64]) {
        for reason in ChangelogRejection.allCases {
            registry.makeGauge(name: ChangelogName.rejectedRecords, labels: [("reason", reason.rawValue)])
                .set(Double(counts[reason.rawValue] ?? 0))
        }
    }
}

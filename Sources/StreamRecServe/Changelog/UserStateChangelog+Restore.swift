import Dispatch
import Logging
import StreamRecCore
import StreamRecKafka

extension UserStateChangelog {
    /// Restores newly assigned partitions from the changelog. For each partition: its latest checkpoint
    /// wins over the start offset the partition book chose unless this learner holds the partition's users
    /// and its own snapshot is at or past the checkpoint (a restart of the same owner keeps its state).
    /// Restoring imports the latest record of every user of that changelog partition, sets the start
    /// offset to the checkpoint's next offset and the learned count to the checkpoint's. No checkpoint:
    /// the partition book's start stands (the beginning, for a learner without a snapshot).
    ///
    /// Runs inside the rebalance callback, which can't throw: a failed read (timeout, missing partition)
    /// or an import refused (another model configuration) is kept in ``fatal`` and stops the loop at its
    /// next tick, before anything of the partition is learned.
    func assigned(_ partitions: [TopicPartition], start: inout [TopicPartition: Int64], learner: LiveLearner) {
        guard fatal == nil, !partitions.isEmpty else { return }
        for tp in partitions { _ = index(of: tp) }
        assignedPartitions.formUnion(partitions)
        let began = DispatchTime.now().uptimeNanoseconds
        let contents: [Int32: ChangelogReader.Contents]
        do {
            contents = try reader.read(
                partitions: Array(Set(partitions.map(\.partition))).sorted(),
                timeout: restoreTimeout
            )
        } catch {
            dropRevoked(learner: learner)
            fail("changelog restore failed", error)
            return
        }
        for content in contents.values { noteRejected(content.rejected) }
        // Revoked and assigned straight back (an eager rebalance) with the checkpoint at this learner's own
        // position (or none at all): nobody learned the partition in between, so the users still in
        // memory are current.
        for tp in partitions {
            guard let i = partitionIndex[tp], toDrop.contains(i), let own = start[tp], own >= 0 else { continue }
            let checkpoint = contents[tp.partition]?.checkpoints[tp]
            if checkpoint == nil || checkpoint?.next == own { toDrop.remove(i) }
        }
        dropRevoked(learner: learner)
        var restoredPartitions: Set<Int32> = []
        var users = 0
        var records = 0
        var bytes = 0
        for tp in partitions.sorted() {
            let i = index(of: tp)
            let own = start[tp].flatMap { $0 >= 0 ? $0 : nil }
            guard let content = contents[tp.partition], let checkpoint = content.checkpoints[tp] else {
                if !held.contains(tp) { learnedCounts[Int(i)] = 0 }
                held.insert(tp)
                continue
            }
            if held.contains(tp), let own, own >= checkpoint.next {
                if own == checkpoint.next { learnedCounts[Int(i)] = checkpoint.learned }
                logger.info(
                    "changelog: keeping in-memory state (own snapshot at or past the checkpoint)",
                    metadata: [
                        "partition": "\(tp)", "snapshot_next": "\(own)", "checkpoint_next": "\(checkpoint.next)",
                    ]
                )
                continue
            }
            if !restoredPartitions.contains(tp.partition) {
                restoredPartitions.insert(tp.partition)
                do {
                    users += try importUsers(content, partition: i, learner: learner)
                } catch {
                    fail("changelog restore refused", error)
                    return
                }
                records += content.records
                bytes += content.bytes
            }
            start[tp] = checkpoint.next
            learnedCounts[Int(i)] = checkpoint.learned
            held.insert(tp)
            logger.info(
                "changelog: partition restored",
                metadata: [
                    "partition": "\(tp)", "next": "\(checkpoint.next)", "learned": "\(checkpoint.learned)",
                    "snapshot_next": "\(own.map(String.init) ?? "none")",
                ]
            )
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
        metrics.recordChangelogRestore(seconds: seconds, records: records, bytes: bytes, users: users)
        logger.info(
            "changelog: restore finished",
            metadata: [
                "partitions": "\(partitions.map(\.description).joined(separator: ","))", "users": "\(users)",
                "records": "\(records)", "bytes": "\(bytes)", "seconds": "\(seconds)",
                "records_per_second": "\(seconds > 0 ? Int(Double(records) / seconds) : 0)",
            ]
        )
        publishCounts()
    }

    /// Imports every user of one changelog partition, least recently active first (so the learner's
    /// recency order, which eviction and TTL walk, follows activity). Returns how many were imported.
    private func importUsers(_ content: ChangelogReader.Contents, partition: Int32, learner: LiveLearner) throws -> Int
    {
        // Already decoded and checked by the reader (an unreadable record left the previous good one).
        var records = Array(content.users.values)
        records.sort { ($0.lastSeen, $0.user) < ($1.lastSeen, $1.user) }
        try learner.update { l in
            for r in records {
                try l.importUser(r)
                if let slot = l.users.index(of: r.user) {
                    cover(slot: slot)
                    slotPartition[Int(slot)] = partition
                }
            }
        }
        return records.count
    }

    private func fail(_ what: String, _ error: any Error) {
        logger.critical(
            "\(what): stopping before learning the partition",
            metadata: ["topic": "\(topic)", "error": "\(error)"]
        )
        fatal = error
    }
}

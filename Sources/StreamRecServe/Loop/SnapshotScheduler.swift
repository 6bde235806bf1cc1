import Dispatch
import Foundation
import Logging
import StreamRecCore
import StreamRecKafka
import Synchronization

/// When to snapshot, and the background writer: counts events since the last snapshot, decides when one
/// is due (every N events or S seconds, backing off after failures), writes it on its own low-priority
/// thread (``BackgroundWorker``) while the learner keeps learning, hands the result back to the learner
/// thread, and keeps snapshot health (failures, "nothing durable for too long") in ``ServeStatus``.
/// Confined to the learner thread; only the writer's result crosses threads, through ``Mailbox``.
final class SnapshotScheduler {
    struct Completed: Sendable {
        var snapshot: LearnerSnapshot
        var result: Result<String, SnapshotError>
        var started: UInt64
        var reason: String
        var events: Int64
    }

    /// Where the writer leaves its result for the learner thread.
    final class Mailbox: Sendable {
        let slot = Mutex<Completed?>(nil)
    }

    let store: SnapshotStore
    private let policy: ServeConfig.Snapshots
    private let status: ServeStatus
    private let metrics: StreamRecMetrics
    private let logger: Logger
    /// Writes at nice +10: a snapshot's encoding and I/O yield to the learner and the broker.
    private let writer = BackgroundWorker(name: "streamrec.snapshot-writer", niceIncrement: 10)
    private let mailbox = Mailbox()
    private(set) var inFlight = false
    /// Events learned since the last snapshot was taken (put back if its write fails).
    private(set) var eventsSinceSnapshot: Int64 = 0
    private var lastSnapshotNanos: UInt64 = DispatchTime.now().uptimeNanoseconds
    private var backoffSeconds: Double = 0
    private var nextAttemptNanos: UInt64 = 0
    private var lastDurableNanos: UInt64 = DispatchTime.now().uptimeNanoseconds
    private var errorLog = LogRateLimiter(burst: 3, intervalSeconds: 60)
    /// Copies of the factor matrices kept current row by row (no stop-the-world copy).
    private var shadows: FactorShadows?

    init(
        store: SnapshotStore,
        policy: ServeConfig.Snapshots,
        status: ServeStatus,
        metrics: StreamRecMetrics,
        logger: Logger
    ) {
        self.store = store
        self.policy = policy
        self.status = status
        self.metrics = metrics
        self.logger = logger
    }

    func eventsLearned(_ count: Int) { eventsSinceSnapshot += Int64(count) }

    /// Something happened since the last durable snapshot (a snapshot is worth taking on hand-over).
    var hasUnsavedWork: Bool { eventsSinceSnapshot > 0 || inFlight }

    func isDue(now: UInt64) -> Bool {
        guard eventsSinceSnapshot > 0, now >= nextAttemptNanos else { return false }
        if policy.everyEvents > 0 && eventsSinceSnapshot >= policy.everyEvents { return true }
        return policy.everySeconds > 0 && Double(now - lastSnapshotNanos) / 1e9 >= policy.everySeconds
    }

    /// No write in flight and no failure backoff pending (a participant may ask for a snapshot).
    func mayAttempt(now: UInt64) -> Bool { !inFlight && now >= nextAttemptNanos }

    /// The learner was replaced wholesale (a rollback): the shadows no longer follow its rows (the next
    /// capture copies every matrix once), and nothing learned is unsaved.
    func rolledBack() {
        precondition(!inFlight, "rollback while a snapshot is being written")
        shadows = nil
        eventsSinceSnapshot = 0
    }

    /// Clears the failure backoff (the final snapshot is attempted whatever the schedule).
    func retryNow() { nextAttemptNanos = 0 }

    /// The learner as the snapshot writer should see it, taken under the learner lock with no write in
    /// flight. The factor matrices come from shadows brought up to date by copying only the rows
    /// written since the last capture, so the learner's next SGD step finds its matrices uniquely
    /// referenced and copies nothing (a plain copy-on-write copy made that step copy every matrix:
    /// 58 ms at 1M items). The first capture makes the shadows (one full copy). Every raw writer of a
    /// factor row marks it (`FactorMatrix.markChanged`); the resume tests prove the captured model
    /// equals the live one.
    func capture(_ learner: inout OnlineLearner) -> OnlineLearner {
        precondition(!inFlight, "capture while a snapshot is being written would overwrite its shadows")
        return learner.snapshotCopy(updating: &shadows)
    }

    /// Writes `snapshot` — on the writer queue, or inline when `wait` is set (shutdown, rebalance).
    /// Returns the written snapshot and path when `wait` is set and the write succeeded.
    @discardableResult
    func start(
        _ snapshot: LearnerSnapshot,
        reason: String,
        startedAt started: UInt64,
        wait: Bool
    ) -> (LearnerSnapshot, String)? {
        let pendingEvents = eventsSinceSnapshot
        eventsSinceSnapshot = 0
        lastSnapshotNanos = started
        inFlight = true
        let store = self.store
        let done = mailbox
        let write: @Sendable () -> Void = {
            let result = Result { () throws(SnapshotError) -> String in try store.write(snapshot) }
            done.slot.withLock {
                $0 = Completed(
                    snapshot: snapshot,
                    result: result,
                    started: started,
                    reason: reason,
                    events: pendingEvents
                )
            }
        }
        if wait {
            write()
            return collect()
        }
        writer.async(write)
        return nil
    }

    /// Finishes a snapshot whose write completed: accounting, status, metrics, log. Returns the snapshot
    /// and its path when it was written (its offsets may now be committed).
    @discardableResult
    func collect() -> (LearnerSnapshot, String)? {
        guard
            let completed = mailbox.slot.withLock({ c in
                defer { c = nil }
                return c
            })
        else { return nil }
        inFlight = false
        let snap = completed.snapshot
        let path: String
        do {
            path = try completed.result.get()
        } catch {
            eventsSinceSnapshot += completed.events
            failed(error)
            return nil
        }
        succeeded()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - completed.started) / 1e9
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let state = ServeStatus.SnapshotState(
            path: path,
            writtenAt: snap.createdAt,
            durationSeconds: seconds,
            bytes: bytes,
            events: snap.learner.counters.events
        )
        status.update { $0.lastSnapshot = state }
        metrics.recordSnapshotWritten(bytes: bytes, duration: .nanoseconds(Int64(seconds * 1e9)))
        logger.info(
            "snapshot written",
            metadata: [
                "reason": "\(completed.reason)", "path": "\(path)", "bytes": "\(bytes)",
                "seconds": "\(String(format: "%.3f", seconds))", "events": "\(snap.learner.counters.events)",
            ]
        )
        return (snap, path)
    }

    /// Blocks until an in-flight write finished and collects it.
    func waitForInFlight() -> (LearnerSnapshot, String)? {
        guard inFlight else { return nil }
        writer.waitUntilIdle()
        return collect()
    }

    /// Counts the failure, publishes it, and backs off (1 s doubling to 60 s) so a full disk costs a
    /// few attempts a minute, not ten a second.
    private func failed(_ error: SnapshotError) {
        backoffSeconds = min(60, max(1, backoffSeconds * 2))
        nextAttemptNanos = DispatchTime.now().uptimeNanoseconds + UInt64(backoffSeconds * 1e9)
        status.update {
            $0.snapshotFailures += 1
            $0.lastSnapshotError = "\(error)"
        }
        if case .log(let suppressed) = errorLog.admit() {
            logger.error(
                "snapshot failed; offsets stay at the last durable snapshot",
                metadata: [
                    "error": "\(error)", "retry_in_s": "\(backoffSeconds)", "suppressed_since_last": "\(suppressed)",
                ]
            )
        }
    }

    private func succeeded() {
        lastDurableNanos = DispatchTime.now().uptimeNanoseconds
        if backoffSeconds > 0 || status.current.lastSnapshotError != nil {
            logger.info("snapshots durable again")
            status.update {
                $0.lastSnapshotError = nil
                $0.snapshotOverdue = false
            }
        }
        backoffSeconds = 0
        nextAttemptNanos = 0
    }

    /// Not ready once snapshots fail and nothing has been durable for `snapshots.max_unsaved_seconds`.
    func updateHealth(now: UInt64) {
        let failing = status.current.lastSnapshotError != nil
        let overdue = failing && Double(now &- lastDurableNanos) / 1e9 > policy.maxUnsavedSeconds
        if overdue != status.current.snapshotOverdue {
            status.update { $0.snapshotOverdue = overdue }
            if overdue { logger.critical("no durable snapshot for over \(policy.maxUnsavedSeconds) s: not ready") }
        }
    }
}

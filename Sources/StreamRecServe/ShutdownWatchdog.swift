import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Bounds shutdown. Once armed (a stop was requested), it waits `seconds` on its own thread; if the
/// learner hasn't finished by then (e.g. librdkafka stuck in `rd_kafka_destroy` after a broker data
/// wipe, or a flush that never completes) it logs why and calls `onExpiry`, which by default exits the
/// process with status 3. Nothing is lost by that: only durable snapshots and their committed offsets
/// are trusted on restart.
final class ShutdownWatchdog: Sendable {
    static let exitStatus: Int32 = 3

    private let state = Mutex<(armed: Bool, finished: Bool)>((false, false))
    private let seconds: Double
    private let logger: Logger
    private let onExpiry: @Sendable () -> Void

    init(
        seconds: Double,
        logger: Logger,
        onExpiry: @escaping @Sendable () -> Void = { exit(ShutdownWatchdog.exitStatus) }
    ) {
        self.seconds = seconds
        self.logger = logger
        self.onExpiry = onExpiry
    }

    /// Starts the countdown (idempotent).
    func arm(reason: String) {
        let first = state.withLock { s -> Bool in
            defer { s.armed = true }
            return !s.armed && !s.finished
        }
        guard first else { return }
        let thread = Thread { [self] in
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if state.withLock({ $0.finished }) { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            guard !state.withLock({ $0.finished }) else { return }
            let message =
                "shutdown did not finish within \(seconds) s (\(reason)); exiting with status \(Self.exitStatus). "
                + "The last durable snapshot and its committed offsets stand; a restart resumes from them."
            logger.critical("\(message)")
            onExpiry()
        }
        thread.name = "streamrec-shutdown-watchdog"
        thread.start()
    }

    /// The learner finished: the countdown (if any) ends without action.
    func disarm() { state.withLock { $0.finished = true } }
}

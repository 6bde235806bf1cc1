import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One long-lived thread that runs background jobs one at a time at a lower scheduling priority.
///
/// Why not a `DispatchQueue`: encoding, checksumming and writing a snapshot takes 0.4–0.7 s of CPU per
/// 100 MB, and where the learner thread shares the cores with the broker that time competes with both.
/// At nice +10 the scheduler gives them precedence and the write fills their idle time (bench/README §2
/// has the end-to-end runs). A pool thread can't be used for that: an unprivileged process can lower a
/// thread's priority but never raise it back, and pool threads run other work afterwards.
final class BackgroundWorker: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `condition`.
    private final class State: @unchecked Sendable {
        let condition = NSCondition()
        var jobs: [@Sendable () -> Void] = []
        var busy = false
        var stopped = false
    }

    private let state = State()

    /// - Parameters:
    ///   - name: the thread's name (shows in `top -H`, `perf`).
    ///   - niceIncrement: added to the thread's nice value (Linux: per thread); 0 keeps the priority.
    init(name: String, niceIncrement: Int32) {
        let state = self.state
        let thread = Thread {
            Self.lowerPriority(by: niceIncrement)
            while true {
                state.condition.lock()
                while state.jobs.isEmpty && !state.stopped { state.condition.wait() }
                if state.jobs.isEmpty {
                    state.condition.unlock()
                    return
                }
                let job = state.jobs.removeFirst()
                state.busy = true
                state.condition.unlock()
                job()
                state.condition.lock()
                state.busy = false
                state.condition.broadcast()
                state.condition.unlock()
            }
        }
        thread.name = name
        thread.start()
    }

    deinit {
        state.condition.lock()
        state.stopped = true
        state.condition.broadcast()
        state.condition.unlock()
    }

    /// Queues `job`; it runs after the jobs queued before it.
    func async(_ job: @escaping @Sendable () -> Void) {
        state.condition.lock()
        state.jobs.append(job)
        state.condition.broadcast()
        state.condition.unlock()
    }

    /// Blocks until every queued job has finished.
    func waitUntilIdle() {
        state.condition.lock()
        while !state.jobs.isEmpty || state.busy { state.condition.wait() }
        state.condition.unlock()
    }

    private static func lowerPriority(by increment: Int32) {
        guard increment > 0 else { return }
        #if os(Linux)
        // Linux keeps nice values per thread: PRIO_PROCESS with `who` 0 is the calling thread alone.
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let current = getpriority(which, 0)
        if errno == 0 { _ = setpriority(which, 0, min(19, current + increment)) }
        #endif
    }
}

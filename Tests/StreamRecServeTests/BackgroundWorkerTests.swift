import Foundation
import Synchronization
import Testing

@testable import StreamRecServe

#if canImport(Glibc)
import Glibc
#endif

@Suite("Background worker (snapshot writer thread)")
struct BackgroundWorkerTests {
    final class Log: Sendable {
        let entries = Mutex<[Int]>([])
        let threads = Mutex<Set<String>>([])
        let niceValues = Mutex<[Int32]>([])
    }

    @Test("jobs run one at a time in queue order on one thread; waitUntilIdle returns after the last")
    func orderAndIdle() {
        let worker = BackgroundWorker(name: "test-worker", niceIncrement: 0)
        let log = Log()
        for i in 0..<50 {
            worker.async {
                if i % 10 == 0 { usleep(2_000) }  // a slow job must not let a later one overtake it
                log.entries.withLock { $0.append(i) }
                log.threads.withLock { _ = $0.insert("\(Thread.current)") }
            }
        }
        worker.waitUntilIdle()
        #expect(log.entries.withLock { $0 } == Array(0..<50))
        #expect(log.threads.withLock { $0.count } == 1)
        // Idle with nothing queued returns at once; the worker takes new work afterwards.
        worker.waitUntilIdle()
        worker.async { log.entries.withLock { $0.append(50) } }
        worker.waitUntilIdle()
        #expect(log.entries.withLock { $0.last } == 50)
    }

    #if os(Linux)
    @Test("the worker thread runs at a raised nice value; the calling thread's priority is untouched")
    func lowersOnlyItsOwnThread() {
        errno = 0
        let before = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        let worker = BackgroundWorker(name: "test-nice", niceIncrement: 10)
        let log = Log()
        worker.async {
            log.niceValues.withLock { $0.append(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)) }
        }
        worker.waitUntilIdle()
        let workerNice = log.niceValues.withLock { $0.first }
        #expect(workerNice == min(19, before + 10))
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == before)
    }
    #endif
}

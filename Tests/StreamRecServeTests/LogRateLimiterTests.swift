import StreamRecKafka
import Testing

@Suite("log rate limiter")
struct LogRateLimiterTests {
    @Test("a burst per interval passes, the rest is counted and reported with the next line")
    func limits() {
        var limiter = LogRateLimiter(burst: 3, intervalSeconds: 1)
        let second: UInt64 = 1_000_000_000
        var decisions: [LogRateLimiter.Decision] = []
        for i in 0..<10 { decisions.append(limiter.admit(now: UInt64(i) * 1000)) }
        #expect(decisions.prefix(3).allSatisfy { $0 == .log(suppressedBefore: 0) })
        #expect(decisions.dropFirst(3).allSatisfy { $0 == .drop })
        #expect(limiter.suppressed == 7)
        #expect(limiter.admit(now: second + 1) == .log(suppressedBefore: 7))
        #expect(limiter.admit(now: second + 2) == .log(suppressedBefore: 0))
        #expect(limiter.totalSuppressed == 7)
    }

    @Test("10,000 events in one interval log `burst` lines")
    func flood() {
        var limiter = LogRateLimiter(burst: 10, intervalSeconds: 10)
        var logged = 0
        for i in 0..<10_000 { if case .log = limiter.admit(now: UInt64(i)) { logged += 1 } }
        #expect(logged == 10)
    }
}

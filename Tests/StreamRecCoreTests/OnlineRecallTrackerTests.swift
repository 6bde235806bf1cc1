import StreamRecTestSupport
import Testing

@testable import StreamRecCore

@Suite("Online recall tracker")
struct OnlineRecallTrackerTests {
    @Test("rolling window keeps only the last W outcomes; lifetime keeps all")
    func rollingWindow() {
        var t = OnlineRecallTracker(k: 10, windowSize: 4, sampling: .everyNth(1))
        #expect(t.recall == nil)
        for hit in [true, false, true, true, false] { t.record(hit: hit) }
        // Window holds [false, true, true, false].
        #expect(t.scoredInWindow == 4)
        #expect(t.hitsInWindow == 2)
        #expect(t.recall == 0.5)
        #expect(t.totalScored == 5)
        #expect(t.totalHits == 3)
        #expect(t.lifetimeRecall == 0.6)
        for _ in 0..<4 { t.record(hit: true) }
        #expect(t.recall == 1.0)
    }

    @Test("every-Nth sampling scores ordinals 0, N, 2N, …")
    func everyNth() throws {
        let learner = try makeLearner(ranker: .popularity)
        var t = OnlineRecallTracker(k: 3, windowSize: 100, sampling: .everyNth(3))
        var sampled: [Int] = []
        for i in 0..<9 {
            if t.observe(user: "new\(i)", item: "i1", learner: learner) != .notSampled { sampled.append(i) }
        }
        #expect(sampled == [0, 3, 6])
        #expect(t.observed == 9)
        #expect(t.totalScored == 3)
    }

    @Test("hash sampling is deterministic and close to its fraction")
    func hashed() {
        let none = OnlineRecallTracker(sampling: .hashed(fraction: 0))
        let all = OnlineRecallTracker(sampling: .hashed(fraction: 1))
        let half = OnlineRecallTracker(sampling: .hashed(fraction: 0.5))
        var count = 0
        for i in 0..<10_000 {
            #expect(!none.isSampled(user: "u\(i)", item: "i\(i % 97)", ordinal: Int64(i)))
            #expect(all.isSampled(user: "u\(i)", item: "i\(i % 97)", ordinal: Int64(i)))
            if half.isSampled(user: "u\(i)", item: "i\(i % 97)", ordinal: Int64(i)) { count += 1 }
            // Same pair, different ordinal: same decision.
            #expect(
                half.isSampled(user: "u\(i)", item: "i\(i % 97)", ordinal: 0)
                    == half.isSampled(user: "u\(i)", item: "i\(i % 97)", ordinal: 99)
            )
        }
        #expect(count > 4_700 && count < 5_300)
        #expect(OnlineRecallTracker.hash(user: "ab", item: "c") != OnlineRecallTracker.hash(user: "a", item: "bc"))
    }

    @Test("test-then-train outcomes: hit at rank, miss, repeat skipped, unknown item")
    func outcomes() throws {
        // Popularity ranker: an unknown user gets i1, i2, i3, … (i1 most popular).
        let learner = try makeLearner(ranker: .popularity)
        var t = OnlineRecallTracker(k: 2, windowSize: 10, sampling: .everyNth(1))
        #expect(t.observe(user: "newcomer", item: "i1", learner: learner) == .hit(rank: 1))
        #expect(t.observe(user: "newcomer", item: "i2", learner: learner) == .hit(rank: 2))
        #expect(t.observe(user: "newcomer", item: "i3", learner: learner) == .miss)  // outside top-2
        #expect(t.observe(user: "u1", item: "i1", learner: learner) == .repeatSkipped)
        #expect(t.observe(user: "u1", item: "never-seen", learner: learner) == .miss)
        // u1 consumed i1, i2, so its top-2 is i3, then i4 or i5.
        #expect(t.observe(user: "u1", item: "i3", learner: learner) == .hit(rank: 1))
        #expect(t.repeatsSkipped == 1)
        #expect(t.totalScored == 5)
        #expect(t.totalHits == 3)
        #expect(t.recall == 0.6)
    }
}

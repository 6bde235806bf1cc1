import StreamRecCore
import Testing

@testable import StreamRecServe

@Suite("Refresh coalescing")
struct RefreshCoalescerTests {
    @Test("a user touched twice within the interval gets one list, with the latest source; force takes all")
    func coalesces() {
        var c = RefreshCoalescer(minRefreshIntervalMillis: 1000)
        var due: [RefreshCoalescer.Due] = []
        c.markDirty(3, topic: "a", partition: 1, offset: 10)
        c.markDirty(3, topic: "a", partition: 1, offset: 11)
        c.takeDue(now: 5_000_000_000, force: false, into: &due)
        #expect(due.map(\.slot) == [3])
        #expect(due[0].source == SourceOffset(topic: "a", partition: 1, offset: 11))
        // Touched again 0.5 s later: held back until the interval passed.
        c.markDirty(3, topic: "b", partition: 0, offset: 2)
        c.takeDue(now: 5_500_000_000, force: false, into: &due)
        #expect(due.isEmpty && !c.isEmpty)
        c.takeDue(now: 6_000_000_001, force: false, into: &due)
        #expect(due.map(\.slot) == [3] && due[0].source.topic == "b")
        // Re-queued (failed delivery) keeps its source; force ignores the interval.
        c.markDirty(3)
        c.takeDue(now: 6_000_000_002, force: true, into: &due)
        #expect(due.map(\.slot) == [3] && due[0].source.offset == 2)
        #expect(c.isEmpty)
    }

    @Test("without an interval every dirty user is due at once, in first-touched order")
    func noInterval() {
        var c = RefreshCoalescer(minRefreshIntervalMillis: 0)
        var due: [RefreshCoalescer.Due] = []
        for slot: Int32 in [5, 1, 5, 2] { c.markDirty(slot, topic: "t", partition: 0, offset: Int64(slot)) }
        c.markDirty(9)  // never touched by an event: ignored
        c.takeDue(now: 1, force: false, into: &due)
        #expect(due.map(\.slot) == [5, 1, 2])
    }
}

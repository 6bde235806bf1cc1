import StreamRecCore
import Testing

@testable import StreamRecServe

@Suite("memory bound under a flood of new ids")
struct MemoryBoundTests {
    @Test("a flood of all-new ids stops growing the learner at the caps, within the stated bound")
    func flood() throws {
        var config = ModelConfig()
        config.maxUsers = 2000
        config.maxItems = 1000
        var learner = try OnlineLearner(config: config)
        var atCaps = 0
        for i in 0..<12_000 {
            _ = try? learner.learn(user: "flood-u\(i)", item: "flood-i\(i)", timestamp: Int64(i), weight: 1)
            if i == 4_000 { atCaps = learner.allocatedBytes }
        }
        #expect(learner.users.count == 2000 && learner.items.count == 1000)
        #expect(learner.counters.userEvictions == 10_000 && learner.counters.itemEvictions == 11_000)
        // Three times as many ids again, no growth: slots are reused.
        #expect(learner.allocatedBytes <= atCaps + atCaps / 10, "\(atCaps) → \(learner.allocatedBytes) bytes")
        let bound = MemoryBound(config)
        // Arrays may hold up to twice their contents while growing; pairs are one per user here.
        #expect(
            learner.allocatedBytes <= 2 * (bound.usersAndItemsBytes + 2000 * MemoryBound.bytesPerSeenPair),
            "\(learner.allocatedBytes) bytes vs bound \(bound.description)"
        )
    }

    @Test("the default bound is stated and finite")
    func defaults() {
        let bound = MemoryBound(ModelConfig())
        #expect(bound.usersAndItemsBytes > 0 && bound.usersAndItemsBytes < 4 << 30)
        #expect(bound.description.contains("MiB"))
    }
}

public import StreamRecCore
import Synchronization

/// The serving learner shared between the consumer loop (writer) and the HTTP query API (readers).
///
/// One mutex around the value-type learner: the consumer holds it per batch of events, a query holds it
/// for one top-K (≈0.5 ms at 100k items), so contention stays low and reads always see a consistent model.
public final class LiveLearner: Sendable {
    private let state: Mutex<OnlineLearner>

    public init(_ learner: OnlineLearner) {
        state = Mutex(learner)
    }

    /// Mutates the learner under the lock (the consumer loop).
    public func update<R>(_ body: (inout OnlineLearner) throws -> R) rethrows -> R {
        try state.withLock { try body(&$0) }
    }

    /// Reads the learner under the lock (queries, snapshots). Copying the learner out is O(1)
    /// copy-on-write, so a snapshot can be encoded outside the lock.
    public func read<R>(_ body: (OnlineLearner) throws -> R) rethrows -> R {
        try state.withLock { try body($0) }
    }

    /// Replaces the learner wholesale (snapshot restore).
    public func replace(with learner: OnlineLearner) {
        state.withLock { $0 = learner }
    }
}

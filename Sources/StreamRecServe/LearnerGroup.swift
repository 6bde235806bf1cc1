import StreamRecCore

/// The learners of one process as the HTTP API sees them: one with `serve.learners = 1`, N with
/// `serve --learners N`. Each member owns some of the assigned partitions and their users;
/// item state is shared between members through the model-sync topic, so any member answers for items.
public final class LearnerGroup: Sendable {
    public struct Member: Sendable {
        public let learner: LiveLearner
        public let status: ServeStatus

        public init(learner: LiveLearner, status: ServeStatus) {
            self.learner = learner
            self.status = status
        }
    }

    public let members: [Member]

    public init(_ members: [Member]) {
        precondition(!members.isEmpty, "a learner group has at least one learner")
        self.members = members
    }

    public convenience init(learner: LiveLearner, status: ServeStatus) {
        self.init([Member(learner: learner, status: status)])
    }

    /// The first learner: answers item queries (item state is shared) and unknown users (popularity).
    public var primary: LiveLearner { members[0].learner }

    /// The learner that knows `user` (its partition's owner: a member drops a revoked partition's users),
    /// else the primary one, whose answer is the cold-start fallback.
    public func learner(forUser user: String) -> LiveLearner {
        guard members.count > 1 else { return primary }
        return members.first { m in m.learner.read { $0.users.index(of: user) != nil } }?.learner ?? primary
    }

    /// One status for the process: counts summed, partitions concatenated, health flags combined so that
    /// the process is ready only when every learner is.
    public var status: ServeStatus.Snapshot {
        guard members.count > 1 else { return members[0].status.current }
        return Self.merged(members.map(\.status.current))
    }

    static func merged(_ all: [ServeStatus.Snapshot]) -> ServeStatus.Snapshot {
        var m = all[0]
        for s in all.dropFirst() {
            m.started = m.started && s.started
            m.snapshotLoaded = m.snapshotLoaded && s.snapshotLoaded
            m.loadedFrom = m.loadedFrom ?? s.loadedFrom
            m.partitions += s.partitions
            if let last = s.lastSnapshot, last.writtenAt > (m.lastSnapshot?.writtenAt ?? .min) { m.lastSnapshot = last }
            m.eventsConsumed += s.eventsConsumed
            m.eventsLearned += s.eventsLearned
            m.deadLettered += s.deadLettered
            m.recommendationsProduced += s.recommendationsProduced
            m.onlineRecall = m.onlineRecall ?? s.onlineRecall
            m.brokerConnected = m.brokerConnected && s.brokerConnected
            m.snapshotFailures += s.snapshotFailures
            m.lastSnapshotError = m.lastSnapshotError ?? s.lastSnapshotError
            m.snapshotOverdue = m.snapshotOverdue || s.snapshotOverdue
            m.producerRecreations += s.producerRecreations
            m.consumerRecreations += s.consumerRecreations
            // Samples are per learner; the sum of rates at matching times would need alignment, so the
            // live view plots the first learner's series plus the others' rates where the times line up.
            for i in m.samples.indices {
                if let other = s.samples.first(where: { $0.t == m.samples[i].t }) {
                    m.samples[i].eventsPerSecond += other.eventsPerSecond
                    m.samples[i].lag += other.lag
                }
            }
        }
        m.partitions.sort { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
        return m
    }

    /// Users summed (each user lives in one learner), items from the primary (shared), counters summed.
    func facts() -> (
        users: Int, items: Int, counters: LearnerCounters, allocatedBytes: Int, modelVersion: String, ranker: String
    ) {
        var users = 0
        var bytes = 0
        var counters = LearnerCounters()
        for member in members {
            member.learner.read { l in
                users += l.users.count
                bytes += l.allocatedBytes
                counters.add(l.counters)
            }
        }
        let (items, version, ranker) = primary.read { ($0.items.count, $0.modelVersion, $0.config.ranker.rawValue) }
        return (users, items, counters, bytes, version, ranker)
    }
}

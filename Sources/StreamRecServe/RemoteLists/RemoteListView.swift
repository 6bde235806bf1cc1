public import StreamRecCore
import Synchronization

/// What the operations API needs to answer for users this instance does not learn: the bounded cache
/// of lists from the recommendations topic and the partition counts of the event topics (to tell which
/// partition a user is on). Written by ``RemoteListService``, read by HTTP handlers.
public final class RemoteListView: Sendable {
    public let eventTopics: [String]
    /// The learners' consumer group: named in the 404 for users nobody here can answer for.
    public let groupID: String
    /// How the events' producer maps a user to a partition (librdkafka's default: CRC-32).
    public let partitioner: KafkaPartitioner
    private let cache: Mutex<RemoteListCache>
    private let partitionCounts = Mutex<[String: Int32]>([:])

    public init(
        eventTopics: [String],
        groupID: String,
        maxUsers: Int,
        maxBytes: Int,
        partitioner: KafkaPartitioner = .crc32
    ) {
        self.eventTopics = eventTopics
        self.groupID = groupID
        self.partitioner = partitioner
        cache = Mutex(RemoteListCache(maxUsers: maxUsers, maxBytes: maxBytes))
    }

    public func put(user: String, bytes: [UInt8], receivedAt: Int64) {
        cache.withLock { $0.put(user: user, bytes: bytes, receivedAt: receivedAt) }
    }

    public func list(for user: String) -> RemoteListCache.Entry? { cache.withLock { $0.list(for: user) } }

    /// What `/stats` shows of the view.
    public struct Stats: Codable, Sendable, Equatable {
        public var users: Int
        public var bytes: Int
        public var evictions: Int64
        public var maxUsers: Int
        public var maxBytes: Int
        /// Messages read from the recommendations topic since start.
        public var messagesRead: Int64
    }

    private let messagesRead = Atomic<Int64>(0)

    public var stats: Stats {
        cache.withLock {
            Stats(
                users: $0.count,
                bytes: $0.bytes,
                evictions: $0.evictions,
                maxUsers: $0.maxUsers,
                maxBytes: $0.maxBytes,
                messagesRead: messagesRead.load(ordering: .relaxed)
            )
        }
    }

    func countRead(_ n: Int) { messagesRead.add(Int64(n), ordering: .relaxed) }

    public func setPartitionCount(topic: String, _ count: Int32) { partitionCounts.withLock { $0[topic] = count } }

    var knowsAllPartitionCounts: Bool {
        partitionCounts.withLock { counts in eventTopics.allSatisfy { counts[$0] != nil } }
    }

    /// Who answers for `user` given the partitions this instance is assigned now.
    public func ownership(of user: String, assigned: Set<TopicPartition>) -> UserOwnership {
        UserOwnership.decide(
            user: user,
            eventTopics: eventTopics,
            partitionCounts: partitionCounts.withLock { $0 },
            assigned: assigned,
            partitioner: partitioner
        )
    }
}

/// Whether this instance learns a user's events: the user's partition (``KafkaPartitioner``, the events'
/// producer's) of some event topic is among the partitions currently assigned to it.
public enum UserOwnership: Equatable, Sendable {
    /// This instance consumes the user's partition (or the partition counts aren't known yet, in which
    /// case it answers from its model as it did before ownership was checked).
    case owner
    /// Another member of the group consumes these partitions (one per event topic).
    case other([TopicPartition])

    public static func decide(
        user: String,
        eventTopics: [String],
        partitionCounts: [String: Int32],
        assigned: Set<TopicPartition>,
        partitioner: KafkaPartitioner = .crc32
    ) -> UserOwnership {
        var partitions: [TopicPartition] = []
        for topic in eventTopics {
            // An empty key goes to a random partition: nobody owns it, the local model answers.
            guard let count = partitionCounts[topic], count > 0,
                let p = partitioner.partition(key: user, partitions: Int(count))
            else { return .owner }
            let tp = TopicPartition(topic, Int32(p))
            if assigned.contains(tp) { return .owner }
            partitions.append(tp)
        }
        return partitions.isEmpty ? .owner : .other(partitions)
    }
}

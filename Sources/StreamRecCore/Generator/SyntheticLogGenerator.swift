import Foundation

/// Shape of a synthetic interaction log. Defaults give a small log in which matrix factorization clearly
/// beats popularity (users stick to a few topics) and popularity clearly beats random (Zipf skew).
public struct SyntheticLogConfig: Sendable, Hashable {
    public var users: Int
    public var items: Int
    public var events: Int
    /// Latent clusters; every item belongs to exactly one.
    public var topics: Int
    /// Zipf exponent of item popularity within a topic (0 = uniform).
    public var popularitySkew: Double
    /// Zipf exponent of user activity, so a few users are much more active than most (0.5: the most
    /// active of 2000 users is ~20× the mean; larger values let a handful of users exhaust the catalog).
    public var activitySkew: Double
    /// Each user's interests are a random mixture over `1...maxTopicsPerUser` topics.
    public var maxTopicsPerUser: Int
    /// Probability an event comes from the user's own topics; the rest is uniform-topic noise.
    public var topicConcentration: Double
    /// Fraction of users whose interests move to other topics at ``driftAt``.
    public var driftFraction: Double
    /// Point of the timeline (fraction of events) where drift happens.
    public var driftAt: Double
    /// Probability that an event is the planted successor of the user's previous item (a fixed random
    /// item → item map), a signal for sequence-aware models. 0 disables it.
    public var sequentialProbability: Double
    public var typeMix: EventTypeMix
    /// Timestamp of the first event, ms since epoch.
    public var startTimestamp: Int64
    /// Mean of the exponential gaps between consecutive events, ms.
    public var meanGapMillis: Double
    /// Re-draws when the user already interacted with the drawn item (users mostly don't repeat);
    /// bounded so saturated users still terminate.
    public var repeatAvoidanceAttempts: Int
    public var seed: UInt64

    public init(
        users: Int = 2000,
        items: Int = 1000,
        events: Int = 100_000,
        topics: Int = 16,
        popularitySkew: Double = 0.9,
        activitySkew: Double = 0.5,
        maxTopicsPerUser: Int = 3,
        topicConcentration: Double = 0.9,
        driftFraction: Double = 0.3,
        driftAt: Double = 0.5,
        sequentialProbability: Double = 0,
        typeMix: EventTypeMix = .init(),
        startTimestamp: Int64 = 1_700_000_000_000,
        meanGapMillis: Double = 1000,
        repeatAvoidanceAttempts: Int = 4,
        seed: UInt64 = 1
    ) {
        self.users = users
        self.items = items
        self.events = events
        self.topics = topics
        self.popularitySkew = popularitySkew
        self.activitySkew = activitySkew
        self.maxTopicsPerUser = maxTopicsPerUser
        self.topicConcentration = topicConcentration
        self.driftFraction = driftFraction
        self.driftAt = driftAt
        self.sequentialProbability = sequentialProbability
        self.typeMix = typeMix
        self.startTimestamp = startTimestamp
        self.meanGapMillis = meanGapMillis
        self.repeatAvoidanceAttempts = repeatAvoidanceAttempts
        self.seed = seed
    }

    /// Rejects configurations that can't produce a meaningful log, with a message naming the field.
    public func validate() throws(SyntheticLogError) {
        func check(_ ok: Bool, _ message: String) throws(SyntheticLogError) {
            if !ok { throw .invalidConfig(message) }
        }
        func isProbability(_ p: Double) -> Bool { p >= 0 && p <= 1 }
        try check(users >= 1, "users must be at least 1")
        try check(topics >= 1, "topics must be at least 1")
        try check(items >= topics, "items must be at least topics (every topic needs an item)")
        try check(events >= 0, "events must not be negative")
        try check(maxTopicsPerUser >= 1, "maxTopicsPerUser must be at least 1")
        try check(popularitySkew >= 0 && popularitySkew.isFinite, "popularitySkew must be a finite number >= 0")
        try check(activitySkew >= 0 && activitySkew.isFinite, "activitySkew must be a finite number >= 0")
        try check(isProbability(topicConcentration), "topicConcentration must be within 0...1")
        try check(isProbability(driftFraction), "driftFraction must be within 0...1")
        try check(isProbability(driftAt), "driftAt must be within 0...1")
        try check(isProbability(sequentialProbability), "sequentialProbability must be within 0...1")
        try check(meanGapMillis >= 0 && meanGapMillis.isFinite, "meanGapMillis must be a finite number >= 0")
        try check(repeatAvoidanceAttempts >= 0, "repeatAvoidanceAttempts must not be negative")
        try check(
            typeMix.view >= 0 && typeMix.click >= 0 && typeMix.purchase >= 0
                && typeMix.view + typeMix.click + typeMix.purchase > 0,
            "typeMix needs non-negative weights with a positive sum"
        )
        // Generous bound on the last timestamp: a sum of exponential gaps exceeding 50× its mean is
        // vanishingly unlikely even for a handful of events.
        let end = Double(startTimestamp) + Double(max(events, 1)) * meanGapMillis * 50
        try check(
            startTimestamp >= 0 && end < Double(EventLimits.maxTimestamp),
            "timestamps would fall outside 0...year 9999"
        )
    }
}

/// Relative frequencies of the generated event types.
public struct EventTypeMix: Sendable, Hashable {
    public var view: Double
    public var click: Double
    public var purchase: Double

    public init(view: Double = 0.75, click: Double = 0.2, purchase: Double = 0.05) {
        self.view = view
        self.click = click
        self.purchase = purchase
    }
}

public enum SyntheticLogError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidConfig(String)
    case unsupportedFormat(EventLogFormat)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidConfig(message): "invalid synthetic log config: \(message)"
        case let .unsupportedFormat(format): "synthetic logs can be written as jsonl or csv, not \(format.rawValue)"
        case let .writeFailed(path, reason): "cannot write '\(path)': \(reason)"
        }
    }
}

/// A user's interests: topics and their probabilities.
public struct TopicMixture: Sendable, Hashable {
    public let topics: [Int]
    public let weights: [Double]
    private let cumulative: [Double]

    init(topics: [Int], weights: [Double]) {
        let total = weights.reduce(0, +)
        self.topics = topics
        self.weights = weights.map { $0 / total }
        var sum = 0.0
        cumulative = self.weights.map {
            sum += $0
            return sum
        }
    }

    func sample(_ rng: inout RandomSource) -> Int {
        let u = rng.nextUnitDouble()
        for (index, bound) in cumulative.enumerated() where u < bound { return topics[index] }
        return topics[topics.count - 1]
    }
}

/// Generates interaction logs with planted latent structure, and exposes that structure (the ground
/// truth) so tests and benchmarks can check what a model should recover.
///
/// Users are `u<n>`, items `i<n>` (n from 0). Each item belongs to one topic and has a Zipf popularity
/// rank within it; each user has a sparse mixture over 1–``SyntheticLogConfig/maxTopicsPerUser`` topics.
/// An event picks a user by skewed activity, a topic from the user's mixture (or a uniform topic with
/// probability 1 − concentration), then an item of that topic by popularity, re-drawing a few times
/// if the user has already seen it. Deterministic: the same config gives byte-identical output.
public struct SyntheticLogGenerator: Sendable {
    public let config: SyntheticLogConfig
    /// Topic of each item.
    public let itemTopic: [Int]
    /// Items of each topic, most popular first.
    public let topicItems: [[Int]]
    /// Each user's interests (before drift).
    public let userInterests: [TopicMixture]
    /// Interests after ``driftEventIndex`` for drifted users (disjoint from the originals when the
    /// number of topics allows); nil for users who don't drift.
    public let driftedInterests: [TopicMixture?]
    /// Planted successor of each item (never the item itself when there are two or more items).
    public let successor: [Int]
    /// Index of the first event generated with drifted interests.
    public let driftEventIndex: Int

    private let activityRanks: [Int]
    private let activityCDF: [Double]
    private let popularityCDF: [Double]
    private let typeCDF: [Double]

    public static let eventTypes = ["view", "click", "purchase"]

    public static func userID(_ index: Int) -> String { "u\(index)" }
    public static func itemID(_ index: Int) -> String { "i\(index)" }
    /// The index inside a generated `u<n>` / `i<n>` id.
    public static func index(of id: String) -> Int? { Int(id.dropFirst()) }

    public init(config: SyntheticLogConfig) throws(SyntheticLogError) {
        try config.validate()
        self.config = config
        var rng = RandomSource(seed: config.seed)

        // Items: a random permutation dealt round-robin into topics; deal order is popularity rank.
        var permutation = Array(0..<config.items)
        permutation.shuffle(using: &rng)
        var itemTopic = [Int](repeating: 0, count: config.items)
        var topicItems = [[Int]](repeating: [], count: config.topics)
        for (position, item) in permutation.enumerated() {
            itemTopic[item] = position % config.topics
            topicItems[position % config.topics].append(item)
        }
        self.itemTopic = itemTopic
        self.topicItems = topicItems

        func mixture(excluding excluded: Set<Int>, count: Int) -> TopicMixture {
            var pool = (0..<config.topics).filter { !excluded.contains($0) }
            if pool.count < count { pool = Array(0..<config.topics) }
            pool.shuffle(using: &rng)
            let topics = Array(pool.prefix(count))
            // Exponential draws normalized: a flat Dirichlet, so mixtures vary from even to lopsided.
            let weights = topics.map { _ in -Foundation.log(1 - rng.nextUnitDouble()) + 1e-9 }
            return TopicMixture(topics: topics, weights: weights)
        }
        let topicsPerUser = min(config.maxTopicsPerUser, config.topics)
        var interests: [TopicMixture] = []
        interests.reserveCapacity(config.users)
        for _ in 0..<config.users {
            interests.append(mixture(excluding: [], count: 1 + rng.nextInt(below: topicsPerUser)))
        }
        var drifting = Array(0..<config.users)
        drifting.shuffle(using: &rng)
        var drifted = [TopicMixture?](repeating: nil, count: config.users)
        for user in drifting.prefix(Int((config.driftFraction * Double(config.users)).rounded())) {
            drifted[user] = mixture(excluding: Set(interests[user].topics), count: interests[user].topics.count)
        }
        userInterests = interests
        driftedInterests = drifted
        driftEventIndex = Int((config.driftAt * Double(config.events)).rounded(.up))

        successor = (0..<config.items).map { item in
            guard config.items > 1 else { return item }
            let other = rng.nextInt(below: config.items - 1)
            return other >= item ? other + 1 : other
        }

        var ranks = Array(0..<config.users)
        ranks.shuffle(using: &rng)
        activityRanks = ranks
        activityCDF = Self.zipfCDF(count: config.users, exponent: config.activitySkew)
        popularityCDF = Self.zipfCDF(count: topicItems[0].count, exponent: config.popularitySkew)
        let mix = config.typeMix
        typeCDF = [mix.view, mix.view + mix.click, mix.view + mix.click + mix.purchase]
    }

    /// Convenience: builds the generator for `config` and generates its log.
    public static func generate(_ config: SyntheticLogConfig) throws(SyntheticLogError) -> [Event] {
        try SyntheticLogGenerator(config: config).generate()
    }

    /// All events, in non-decreasing timestamp order.
    public func generate() -> [Event] {
        var events: [Event] = []
        events.reserveCapacity(config.events)
        forEachEvent { events.append($0) }
        return events
    }

    /// Writes the log as `.jsonl` or `.csv` (with ``EventEncoder/csvHeader``) through a temporary file
    /// renamed into place, so readers never see a half-written log. Returns the number of events.
    @discardableResult
    public func write(to path: String, format: EventLogFormat = .auto) throws(SyntheticLogError) -> Int {
        var resolved = format
        if format == .auto {
            resolved = URL(fileURLWithPath: path).pathExtension.lowercased() == "csv" ? .csv : .jsonl
        }
        guard resolved == .jsonl || resolved == .csv else { throw .unsupportedFormat(resolved) }
        let temporary = path + ".tmp"
        do {
            guard FileManager.default.createFile(atPath: temporary, contents: nil),
                let handle = FileHandle(forWritingAtPath: temporary)
            else { throw SyntheticLogError.writeFailed(path: path, reason: "cannot create \(temporary)") }
            defer { try? handle.close() }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 20 + 4096)
            if resolved == .csv { buffer.append(contentsOf: (EventEncoder.csvHeader + "\n").utf8) }
            var failure: (any Error)?
            forEachEvent { event in
                guard failure == nil else { return }
                if resolved == .csv {
                    EventEncoder.appendCSV(event, to: &buffer)
                } else {
                    EventEncoder.appendJSON(event, to: &buffer)
                    buffer.append(0x0A)
                }
                if buffer.count >= 1 << 20 {
                    do { try handle.write(contentsOf: buffer) } catch { failure = error }
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if let failure { throw failure }
            try handle.write(contentsOf: buffer)
            try handle.synchronize()
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch let error as SyntheticLogError {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw .writeFailed(path: path, reason: "\(error)")
        }
        return config.events
    }

    private func forEachEvent(_ body: (Event) -> Void) {
        var rng = RandomSource(seed: config.seed ^ 0x5EED_0F_E7E7)
        let userIDs = (0..<config.users).map(Self.userID)
        let itemIDs = (0..<config.items).map(Self.itemID)
        var seen = [Set<Int32>](repeating: [], count: config.users)
        var previous = [Int](repeating: -1, count: config.users)
        var clock = Double(config.startTimestamp)
        for index in 0..<config.events {
            clock += -Foundation.log(1 - rng.nextUnitDouble()) * config.meanGapMillis
            let user = activityRanks[Self.sample(activityCDF, count: activityCDF.count, &rng)]
            let interests =
                index >= driftEventIndex ? driftedInterests[user] ?? userInterests[user] : userInterests[user]
            var item = -1
            if config.sequentialProbability > 0, previous[user] >= 0,
                rng.nextUnitDouble() < config.sequentialProbability,
                !seen[user].contains(Int32(successor[previous[user]]))
            {
                item = successor[previous[user]]
            }
            if item < 0 {
                // The topic is the user's intent for this event; re-draws only pick another item in it, so
                // a user who exhausted a topic repeats items rather than drifting into noise topics.
                let topic =
                    rng.nextUnitDouble() < config.topicConcentration
                    ? interests.sample(&rng) : rng.nextInt(below: config.topics)
                let candidates = topicItems[topic]
                var attempt = 0
                repeat {
                    item = candidates[Self.sample(popularityCDF, count: candidates.count, &rng)]
                    attempt += 1
                } while attempt <= config.repeatAvoidanceAttempts && seen[user].contains(Int32(item))
            }
            seen[user].insert(Int32(item))
            previous[user] = item
            let type = Self.eventTypes[Self.sample(typeCDF, count: typeCDF.count, &rng)]
            body(Event(user: userIDs[user], item: itemIDs[item], timestamp: Int64(clock), type: type))
        }
    }

    /// Cumulative Zipf weights `(rank + 1)^-exponent`.
    static func zipfCDF(count: Int, exponent: Double) -> [Double] {
        var sum = 0.0
        return (0..<count).map { rank in
            sum += Foundation.pow(Double(rank + 1), -exponent)
            return sum
        }
    }

    /// Draws an index in `0..<count` proportionally to the weights whose prefix sums are `cdf` (binary
    /// search, O(log n)); `count` may be shorter than `cdf` to sample a prefix.
    static func sample(_ cdf: [Double], count: Int, _ rng: inout RandomSource) -> Int {
        let target = rng.nextUnitDouble() * cdf[count - 1]
        var low = 0
        var high = count - 1
        while low < high {
            let mid = (low + high) / 2
            if cdf[mid] > target { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

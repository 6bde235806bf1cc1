import Foundation
import StreamRecTestSupport
import Testing

@testable import StreamRecCore

@Suite("SyntheticLogGenerator")
struct SyntheticLogGeneratorTests {
    /// Sparse like real logs (10 events per user on average), small enough for debug builds.
    static let small = SyntheticLogConfig(users: 1000, items: 500, events: 10_000, topics: 8, seed: 17)

    /// Topic of each event's item, and whether it lies in the user's interests at that time.
    static func inInterests(_ generator: SyntheticLogGenerator, _ event: Event, drifted: Bool) -> Bool {
        let user = SyntheticLogGenerator.index(of: event.user)!
        let topic = generator.itemTopic[SyntheticLogGenerator.index(of: event.item)!]
        let interests = drifted ? generator.driftedInterests[user]! : generator.userInterests[user]
        return interests.topics.contains(topic)
    }

    @Test func isDeterministicGivenTheSeed() throws {
        let a = try SyntheticLogGenerator.generate(Self.small)
        let b = try SyntheticLogGenerator.generate(Self.small)
        #expect(a == b)
        var other = Self.small
        other.seed = 18
        #expect(try SyntheticLogGenerator.generate(other) != a)

        let dir = try temporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: dir) }
        let generator = try SyntheticLogGenerator(config: Self.small)
        for format in [EventLogFormat.jsonl, .csv] {
            let first = dir.appendingPathComponent("a.\(format.rawValue)").path
            let second = dir.appendingPathComponent("b.\(format.rawValue)").path
            #expect(try generator.write(to: first, format: format) == Self.small.events)
            try generator.write(to: second)
            #expect(FileManager.default.contentsEqual(atPath: first, andPath: second))
            #expect(!FileManager.default.fileExists(atPath: first + ".tmp"))
        }
    }

    @Test func producesTimeOrderedEventsWithTheConfiguredShape() throws {
        let config = Self.small
        let events = try SyntheticLogGenerator.generate(config)
        #expect(events.count == config.events)
        #expect(Event.isSortedByTime(events))
        #expect(events.first!.timestamp >= config.startTimestamp)
        let meanGap = Double(events.last!.timestamp - config.startTimestamp) / Double(config.events)
        #expect(abs(meanGap - config.meanGapMillis) < 0.05 * config.meanGapMillis)
        #expect(
            events.allSatisfy {
                (0..<config.users).contains(SyntheticLogGenerator.index(of: $0.user)!) && $0.user.hasPrefix("u")
            }
        )
        #expect(
            events.allSatisfy {
                (0..<config.items).contains(SyntheticLogGenerator.index(of: $0.item)!) && $0.item.hasPrefix("i")
            }
        )
        let types = Dictionary(grouping: events, by: { $0.type! }).mapValues { Double($0.count) / Double(events.count) }
        #expect(Set(types.keys) == ["view", "click", "purchase"])
        #expect(
            abs(types["view"]! - 0.75) < 0.02 && abs(types["click"]! - 0.2) < 0.02
                && abs(types["purchase"]! - 0.05) < 0.01
        )
        // Activity is skewed: the busiest 10% of users produce far more than 10% of events.
        let perUser = Dictionary(grouping: events, by: \.user).values.map(\.count).sorted(by: >)
        #expect(Double(perUser.prefix(config.users / 10).reduce(0, +)) > 0.25 * Double(events.count))
        // Users mostly don't repeat items.
        let pairs = Set(events.map { "\($0.user) \($0.item)" })
        #expect(Double(pairs.count) > 0.9 * Double(events.count))
    }

    @Test func popularityIsSkewed() throws {
        let events = try SyntheticLogGenerator.generate(Self.small)
        let counts = Dictionary(grouping: events, by: \.item).values.map(\.count).sorted(by: >)
        let top = counts.prefix(Self.small.items / 10).reduce(0, +)
        #expect(Double(top) > 0.3 * Double(events.count))
        var flat = Self.small
        flat.popularitySkew = 0
        let flatCounts = Dictionary(grouping: try SyntheticLogGenerator.generate(flat), by: \.item).values.map(\.count)
            .sorted(by: >)
        #expect(Double(flatCounts.prefix(flat.items / 10).reduce(0, +)) < 0.2 * Double(events.count))
    }

    @Test func plantsTopicStructure() throws {
        var config = Self.small
        config.driftFraction = 0
        let generator = try SyntheticLogGenerator(config: config)
        let events = generator.generate()
        // Topics partition the catalog into near-equal parts.
        #expect(
            generator.topicItems.map(\.count).allSatisfy {
                $0 == config.items / config.topics || $0 == config.items / config.topics + 1
            }
        )
        #expect(generator.topicItems.flatMap { $0 }.sorted() == Array(0..<config.items))
        #expect(
            generator.topicItems.indices.allSatisfy { topic in
                generator.topicItems[topic].allSatisfy { generator.itemTopic[$0] == topic }
            }
        )
        #expect(
            generator.userInterests.allSatisfy {
                (1...config.maxTopicsPerUser).contains($0.topics.count) && Set($0.topics).count == $0.topics.count
            }
        )
        #expect(generator.userInterests.allSatisfy { abs($0.weights.reduce(0, +) - 1) < 1e-9 })
        let share = Double(events.count { Self.inInterests(generator, $0, drifted: false) }) / Double(events.count)
        // concentration 0.9 plus the noise that lands in the user's topics by chance.
        #expect(share > 0.88 && share < 0.97)
    }

    @Test func driftMovesAffectedUsersToOtherTopics() throws {
        var config = Self.small
        config.driftFraction = 0.3
        config.driftAt = 0.5
        let generator = try SyntheticLogGenerator(config: config)
        let events = generator.generate()
        #expect(generator.driftEventIndex == config.events / 2)
        let driftedUsers = Set(generator.driftedInterests.indices.filter { generator.driftedInterests[$0] != nil })
        #expect(driftedUsers.count == 300)
        for user in driftedUsers {
            #expect(
                Set(generator.driftedInterests[user]!.topics).isDisjoint(with: generator.userInterests[user].topics)
            )
        }
        func originalShare(drifted: Bool, _ range: Range<Int>) -> Double {
            let selected = events[range].filter {
                driftedUsers.contains(SyntheticLogGenerator.index(of: $0.user)!) == drifted
            }
            return Double(selected.count { Self.inInterests(generator, $0, drifted: false) }) / Double(selected.count)
        }
        let before = 0..<generator.driftEventIndex
        let after = generator.driftEventIndex..<events.count
        #expect(originalShare(drifted: true, before) > 0.85)
        #expect(originalShare(drifted: true, after) < 0.15)
        #expect(originalShare(drifted: false, after) > 0.85)
        let afterDrift = events[after].filter { driftedUsers.contains(SyntheticLogGenerator.index(of: $0.user)!) }
        #expect(
            Double(afterDrift.count { Self.inInterests(generator, $0, drifted: true) }) / Double(afterDrift.count)
                > 0.85
        )
    }

    /// The point of the planted structure: knowing a user's topics (what MF should learn) must beat
    /// global popularity by a wide margin on held-out events, and popularity must beat random.
    @Test func plantedStructureRewardsPersonalization() throws {
        var config = Self.small
        config.driftFraction = 0
        let generator = try SyntheticLogGenerator(config: config)
        let events = generator.generate()
        let lastIndex = Dictionary(events.indices.map { (events[$0].user, $0) }, uniquingKeysWith: max)
        var seen: [String: Set<Int>] = [:]
        var counts = [Int](repeating: 0, count: config.items)
        for (index, event) in events.enumerated() where lastIndex[event.user] != index {
            let item = SyntheticLogGenerator.index(of: event.item)!
            seen[event.user, default: []].insert(item)
            counts[item] += 1
        }
        let ranking = counts.indices.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : $0 < $1 }
        var rng = RandomSource(seed: 1)
        var hits = (random: 0, popularity: 0, topics: 0)
        var trials = 0
        for (user, index) in lastIndex where (seen[user]?.count ?? 0) >= 2 {
            let target = SyntheticLogGenerator.index(of: events[index].item)!
            let consumed = seen[user]!
            guard !consumed.contains(target) else { continue }
            let topics = Set(generator.userInterests[SyntheticLogGenerator.index(of: user)!].topics)
            trials += 1
            let candidates = ranking.filter { !consumed.contains($0) }
            if candidates.prefix(10).contains(target) { hits.popularity += 1 }
            if candidates.filter({ topics.contains(generator.itemTopic[$0]) }).prefix(10).contains(target) {
                hits.topics += 1
            }
            if (0..<10).contains(where: { _ in candidates[rng.nextInt(below: candidates.count)] == target }) {
                hits.random += 1
            }
        }
        #expect(trials > 300)
        let rate = (
            random: Double(hits.random) / Double(trials), popularity: Double(hits.popularity) / Double(trials),
            topics: Double(hits.topics) / Double(trials)
        )
        #expect(rate.topics > 1.5 * rate.popularity, "\(rate)")
        #expect(rate.popularity > 2 * rate.random, "\(rate)")
    }

    @Test("planted successors appear with the configured probability", arguments: [0.0, 0.3])
    func plantsSuccessors(probability: Double) throws {
        var config = Self.small
        config.sequentialProbability = probability
        let generator = try SyntheticLogGenerator(config: config)
        #expect(generator.successor.indices.allSatisfy { generator.successor[$0] != $0 })
        var previous: [String: Int] = [:]
        var transitions = 0
        var planted = 0
        for event in generator.generate() {
            let item = SyntheticLogGenerator.index(of: event.item)!
            if let last = previous[event.user] {
                transitions += 1
                if generator.successor[last] == item { planted += 1 }
            }
            previous[event.user] = item
        }
        let frequency = Double(planted) / Double(transitions)
        // Slightly below p: a successor the user already saw is replaced by a regular draw.
        #expect(abs(frequency - probability) < 0.04, "frequency \(frequency)")
    }

    @Test("written logs read back as the generated events", arguments: [EventLogFormat.jsonl, .csv])
    func writtenLogsReadBack(format: EventLogFormat) throws {
        let config = SyntheticLogConfig(users: 50, items: 60, events: 1_000, topics: 4, seed: 3)
        let generator = try SyntheticLogGenerator(config: config)
        let dir = try temporaryDirectoryURL()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("log.\(format.rawValue)").path
        try generator.write(to: path)
        let (events, stats) = try EventLogReader.readAll(path: path)
        #expect(stats.malformed == 0 && stats.headers == (format == .csv ? 1 : 0))
        #expect(events == generator.generate())
    }

    @Test func rejectsInvalidConfigurations() {
        var cases: [SyntheticLogConfig] = []
        for change in [
            { (c: inout SyntheticLogConfig) in c.users = 0 },
            {
                $0.items = 3
                $0.topics = 4
            },
            { $0.topics = 0 },
            { $0.events = -1 },
            { $0.driftFraction = 1.5 },
            { $0.sequentialProbability = -0.1 },
            { $0.topicConcentration = .nan },
            { $0.typeMix = EventTypeMix(view: 0, click: 0, purchase: 0) },
            { $0.startTimestamp = EventLimits.maxTimestamp },
        ] as [(inout SyntheticLogConfig) -> Void] {
            var config = Self.small
            change(&config)
            cases.append(config)
        }
        for config in cases {
            #expect(throws: SyntheticLogError.self) { try SyntheticLogGenerator(config: config) }
        }
        let error = #expect(throws: SyntheticLogError.self) { try SyntheticLogGenerator(config: cases[0]) }
        #expect(error?.description == "invalid synthetic log config: users must be at least 1")
        #expect(throws: SyntheticLogError.unsupportedFormat(.tsv)) {
            try SyntheticLogGenerator(config: Self.small).write(to: "/nonexistent/x.tsv", format: .tsv)
        }
    }
}

import Testing

@testable import StreamRecCore

@Suite("User state records: export, import, remove")
struct UserStateRecordTests {
    static func events(seed: UInt64 = 3, count: Int = 3000) throws -> [Event] {
        var c = SyntheticLogConfig()
        c.users = 40
        c.items = 120
        c.events = count
        c.topics = 6
        c.seed = seed
        return try SyntheticLogGenerator.generate(c)
    }

    static func config(sequence: Int = 0) -> ModelConfig {
        var c = ModelConfig()
        c.factors = 8
        c.historyLength = 12
        c.sequenceContext = sequence
        return c
    }

    static func trained(_ config: ModelConfig, _ events: ArraySlice<Event>) throws -> OnlineLearner {
        var l = try OnlineLearner(config: config)
        for e in events { _ = try? l.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: 1) }
        return l
    }

    @Test(
        "import into a learner lacking the user (shared item state) gives the same list and identical learning after",
        arguments: [0, 3]
    )
    func moveUserBetweenLearners(sequence: Int) throws {
        let events = try Self.events()
        let a0 = try Self.trained(Self.config(sequence: sequence), events[0..<2000])
        let user = events[1999].user
        let record = try #require(a0.exportUser(user))
        #expect(record.history.count == 12 && !record.seen.isEmpty)

        var b = a0
        let removed = b.removeUser(user)
        #expect(removed)
        #expect(b.users.index(of: user) == nil && b.exportUser(user) == nil)
        #expect(b.model.rng == a0.model.rng)  // removal draws nothing from the learning RNG
        try b.importUser(UserStateRecord(decoding: record.encoded()))
        #expect(b.exportUser(user) == record)
        #expect(b.recommend(user: user, k: 10).map(\.item) == a0.recommend(user: user, k: 10).map(\.item))

        // The rest of the log, learned by both: identical factors for every user and item.
        var a = a0
        for e in events[2000...] {
            _ = try? a.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: 1)
            _ = try? b.learn(user: e.user, item: e.item, timestamp: e.timestamp, weight: 1)
        }
        let ua = try #require(a.users.index(of: user))
        let ub = try #require(b.users.index(of: user))
        #expect(a.model.userFactors.row(Int(ua)) == b.model.userFactors.row(Int(ub)))
        #expect(a.model.itemFactors == b.model.itemFactors)
        #expect(a.model.rng == b.model.rng)
        #expect(b.exportUser(user) == a.exportUser(user))
    }

    @Test("import into a fresh learner interns the user's items; an existing user is replaced (upsert)")
    func importIntoFreshLearner() throws {
        let events = try Self.events()
        let a = try Self.trained(Self.config(), events[0..<1500])
        let user = events[1499].user
        let record = try #require(a.exportUser(user))
        var b = try OnlineLearner(config: Self.config())
        try b.importUser(record)
        #expect(b.exportUser(user) == record)
        #expect(Set(b.items.ids.filter { !$0.isEmpty }) == Set(record.seen).union(record.history.map(\.item)))
        for item in record.seen {
            #expect(b.store.hasSeen(user: b.users.index(of: user)!, item: b.items.index(of: item)!))
        }
        // Upsert: a different state for the same user replaces it.
        var other = record
        other.factors = other.factors.map { $0 * 2 }
        other.seen = Array(other.seen.prefix(1))
        try b.importUser(other)
        #expect(b.exportUser(user) == other)
        #expect(b.users.count == 1)
    }

    @Test("caps apply on import: maxUsers evicts the least recent user, history and seen keep the newest")
    func capsOnImport() throws {
        let events = try Self.events()
        let a = try Self.trained(Self.config(), events[0..<1500])
        var small = Self.config()
        small.maxUsers = 2
        small.historyLength = 3
        small.neighborHistory = 2
        small.neighborContext = 2
        small.maxSeenPerUser = 4
        var b = try OnlineLearner(config: small)
        let users = Array(Set(events[0..<1500].map(\.user)).sorted().prefix(3))
        for u in users {
            var r = try #require(a.exportUser(u))
            r.configFingerprint = small.fingerprint
            try b.importUser(r)
            let got = try #require(b.exportUser(u))
            #expect(got.history == Array(r.history.suffix(3)))
            #expect(got.seen == Array(r.seen.suffix(4)))
        }
        #expect(b.users.count == 2 && b.users.index(of: users[0]) == nil)
        #expect(b.counters.userEvictions == 1)
    }

    @Test("another model's record is refused and changes nothing")
    func configMismatch() throws {
        let a = try Self.trained(Self.config(), try Self.events()[0..<500])
        let user = a.users.ids.first { !$0.isEmpty }!
        var b = try OnlineLearner(config: Self.config(sequence: 2))
        let before = b
        #expect(throws: UserStateImportError.self) { try b.importUser(a.exportUser(user)!) }
        #expect(b == before)
    }

    @Test("corrupt, truncated, oversized and foreign bytes are rejected with a clear error")
    func rejectsBadBytes() throws {
        let a = try Self.trained(Self.config(), try Self.events()[0..<500])
        let bytes = try #require(a.exportUser(a.users.ids.first { !$0.isEmpty }!)).encoded()
        #expect(try UserStateRecord(decoding: bytes) == a.exportUser(a.users.ids.first { !$0.isEmpty }!))
        func error(_ b: [UInt8]) -> String {
            do {
                _ = try UserStateRecord(decoding: b)
                return "accepted"
            } catch { return error.description }
        }
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        #expect(error(flipped).contains("checksum"))
        #expect(error(Array(bytes.prefix(bytes.count - 7))).contains("checksum"))
        #expect(error(Array(bytes.prefix(10))).contains("truncated"))
        #expect(error([UInt8](repeating: 7, count: UserStateRecord.maxBytes + 1)).contains("exceed the cap"))
        #expect(error(Array("SRIS".utf8) + bytes.dropFirst(4)).contains("bad magic"))
        // A well-formed checksum over lying counts is still refused, without allocating for them.
        var lying = Array(bytes.dropLast(4))
        let countAt =
            4 + 1 + 8 + 2 + bytes[13...14].withUnsafeBytes { Int($0.loadUnaligned(as: UInt16.self)) } + 2 + 4 * 8 + 20
        lying.replaceSubrange(countAt..<(countAt + 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
        let crc = CRC32C.checksum(lying)
        withUnsafeBytes(of: crc.littleEndian) { lying.append(contentsOf: $0) }
        #expect(error(lying).contains("history count"))
    }

    @Test("a record that would exceed the cap keeps the newest seen items")
    func oversizedUserIsTrimmed() throws {
        var c = Self.config()
        c.maxSeenPerUser = 20_000
        var l = try OnlineLearner(config: c)
        let long = String(repeating: "x", count: 2000)
        for t in 0..<600 { _ = try? l.learn(user: "u", item: "\(long)-\(t)", timestamp: Int64(t), weight: 1) }
        let r = try #require(l.exportUser("u"))
        #expect(r.encoded().count <= UserStateRecord.maxBytes)
        #expect(r.seen.count < 600 && r.seen.last == "\(long)-599")
        #expect(try UserStateRecord(decoding: r.encoded()) == r)
    }
}

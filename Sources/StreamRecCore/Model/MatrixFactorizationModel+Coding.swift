// The model's snapshot encoding: one field order across the parts, fixed by the snapshot format.
extension MatrixFactorizationModel {
    func encode(into w: inout BinaryWriter) {
        w.write(UInt32(factors.users.rows))
        w.writeArray(factors.users.unpaddedValues())
        w.write(UInt32(factors.items.rows))
        w.writeArray(factors.items.unpaddedValues())
        w.writeArray(factors.itemBias)
        w.writeArray(statistics.popularity)
        w.write(statistics.totalPopularity)
        w.writeArray(statistics.recentPositives)
        w.write(UInt64(statistics.recentHead))
        w.write(rng.state.0)
        w.write(rng.state.1)
        w.write(rng.state.2)
        w.write(rng.state.3)
        w.write(updates)
        // Format 2: beyond-MF state.
        w.write(UInt32(factors.context.rows))
        w.writeArray(factors.context.unpaddedValues())
        w.write(statistics.clock)
        w.write(statistics.popularityEpoch)
        w.writeArray(statistics.lastSeen)
        // Format 3: item-neighbour blend.
        blend.neighbors.encode(into: &w)
        w.write(blend.neighborWeight)
        w.write(blend.popularityWeight)
    }

    /// Decodes a model; `formatVersion` 1 snapshots predate the beyond-MF state, which then starts empty.
    static func decode(
        from r: inout BinaryReader,
        config: ModelConfig,
        formatVersion: UInt32 = SnapshotCodec.formatVersion
    ) throws(BinaryReader.Failure) -> Self {
        var m = MatrixFactorizationModel(config: config)
        let k = config.factors
        let users = Int(try r.read(UInt32.self, "user rows"))
        let uf = try r.readArray(Float.self, "user factors")
        let items = Int(try r.read(UInt32.self, "item rows"))
        let vf = try r.readArray(Float.self, "item factors")
        guard uf.count == users * k, vf.count == items * k else {
            throw .init(description: "factor matrix sizes do not match k=\(k)")
        }
        let itemBias = try r.readArray(Float.self, "item bias")
        guard itemBias.count == items else { throw .init(description: "item bias count disagrees with item count") }
        let popularity = try r.readArray(Float.self, "item popularity")
        let totalPopularity = try r.readDouble("total popularity")
        let recentPositives = try r.readArray(Int32.self, "recent positives")
        let recentHead = Int(try r.read(UInt64.self, "recent head"))
        let s = (
            try r.read(UInt64.self, "rng"), try r.read(UInt64.self, "rng"),
            try r.read(UInt64.self, "rng"), try r.read(UInt64.self, "rng")
        )
        guard let rng = RandomSource(state: s) else { throw .init(description: "invalid RNG state") }
        m.rng = rng
        m.updates = try r.read(Int64.self, "updates")
        let context: FactorMatrix
        var clock: Int64 = .min
        var popularityEpoch: Int64 = .min
        let lastSeen: [Int64]
        if formatVersion >= 2 {
            let contextRows = Int(try r.read(UInt32.self, "context rows"))
            let cf = try r.readArray(Float.self, "context factors")
            guard contextRows == (config.sequenceContext > 0 ? items : 0), cf.count == contextRows * k else {
                throw .init(description: "context factor matrix size disagrees with the config")
            }
            context = FactorMatrix(dimension: k, rows: contextRows, unpadded: cf)
            clock = try r.read(Int64.self, "clock")
            popularityEpoch = try r.read(Int64.self, "popularity epoch")
            lastSeen = try r.readArray(Int64.self, "item last seen")
        } else {
            context = FactorMatrix(dimension: k, rows: config.sequenceContext > 0 ? items : 0)
            lastSeen = [Int64](repeating: 0, count: items)
        }
        m.factors.restore(
            users: FactorMatrix(dimension: k, rows: users, unpadded: uf),
            items: FactorMatrix(dimension: k, rows: items, unpadded: vf),
            itemBias: itemBias,
            context: context
        )
        if formatVersion >= 3 {
            let neighbors = try ItemNeighbors.decode(from: &r, width: config.neighborWidth, items: items)
            let neighborWeight = try r.readFloat("neighbour blend")
            let popularityWeight = try r.readFloat("popularity blend")
            m.blend.restore(neighbors: neighbors, neighborWeight: neighborWeight, popularityWeight: popularityWeight)
        } else {
            for _ in 0..<items { m.blend.neighbors.appendItem() }
        }
        m.statistics.restore(
            popularity: popularity,
            totalPopularity: totalPopularity,
            recentPositives: recentPositives,
            recentHead: recentHead,
            clock: clock,
            popularityEpoch: popularityEpoch,
            lastSeen: lastSeen
        )
        guard lastSeen.count == items, popularity.count == items,
            recentPositives.allSatisfy({ $0 >= 0 && Int($0) < items }),
            recentHead <= max(recentPositives.count, 0)
        else { throw .init(description: "item arrays disagree with the item count") }
        return m
    }
}

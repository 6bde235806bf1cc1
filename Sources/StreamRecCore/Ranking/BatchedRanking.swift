// Batched exact ranking (issue 9 item 2): the users touched by one polled batch are ranked together,
// four per pass over the item blocks (``BlockedItemMatrix/scoreBlocks4``), so an exact scan of a large
// catalog reads the item factors once per four users instead of once per user.

extension OnlineLearner {
    /// True when ``rankBatch(userSlots:k:selectors:into:)`` can score known users four at a time:
    /// MF ranking whose per-item terms are the query (user vector, plus the sequence context) and the
    /// item-neighbour blend, with no uncertainty bonus or cold-start blend and no list stages after
    /// selection (MMR, exploration). Otherwise it still answers, one user at a time.
    public var supportsBatchedRanking: Bool {
        config.ranker == .mf && config.uncertaintyBonus == 0 && config.coldStartUserEvents == 0
            && config.diversityLambda >= 1 && config.explorationEpsilon == 0
    }

    /// Exact top-`k` for each slot of `userSlots` (nil = unknown user), written to `outputs[n]`: each
    /// list equals ``recommend(userSlot:k:selector:into:exact:)`` with `exact: true`, bit for bit
    /// (same kernel arithmetic per query, same offering order). `selectors` and `outputs` are reusable
    /// scratch; they grow to 4 selectors and `userSlots.count` lists and are not shrunk, so a caller
    /// that keeps them ranks without allocating.
    public func rankBatch(
        userSlots: [Int32?],
        k: Int,
        selectors: inout [TopKSelector],
        into outputs: inout [[ScoredIndex]]
    ) {
        while selectors.count < 4 { selectors.append(TopKSelector(k: k)) }
        while outputs.count < userSlots.count { outputs.append([]) }
        let batched = supportsBatchedRanking
        var group: (Int, Int, Int, Int) = (0, 0, 0, 0)
        var filled = 0
        for (n, slot) in userSlots.enumerated() {
            guard batched, let u = slot, users.isLive(u) else {
                recommend(userSlot: slot, k: k, selector: &selectors[0], into: &outputs[n], exact: true)
                continue
            }
            switch filled {
            case 0: group.0 = n
            case 1: group.1 = n
            case 2: group.2 = n
            default: group.3 = n
            }
            filled += 1
            if filled == 4 {
                rankFour(group, count: 4, userSlots: userSlots, k: k, selectors: &selectors, into: &outputs)
                filled = 0
            }
        }
        if filled > 0 {
            rankFour(group, count: filled, userSlots: userSlots, k: k, selectors: &selectors, into: &outputs)
        }
    }

    /// One pass over the item blocks for up to four known, live users (positions in `userSlots`). Each
    /// lane scores exactly as ``recommend(userSlot:k:selector:into:exact:)`` does (same query, same blend
    /// expression, same offering order). A group of fewer than four fills the idle lanes with the first
    /// user's vector and ignores their scores. Scratch: the lanes' selectors' query, context and dense
    /// neighbour-score buffers, and selector 0's similarity buffer for the four queries side by side.
    private func rankFour(
        _ group: (Int, Int, Int, Int),
        count: Int,
        userSlots: [Int32?],
        k: Int,
        selectors: inout [TopKSelector],
        into outputs: inout [[ScoredIndex]]
    ) {
        func position(_ l: Int) -> Int {
            switch l {
            case 0: group.0
            case 1: group.1
            case 2: group.2
            default: group.3
            }
        }
        func user(_ l: Int) -> Int32 { userSlots[position(l < count ? l : 0)]! }
        let users4 = (user(0), user(1), user(2), user(3))
        let s = model.userFactors.stride
        var queries: [Float] = []
        var ns0: [Float] = []
        var ns1: [Float] = []
        var ns2: [Float] = []
        var ns3: [Float] = []
        var nc0: [Int32] = []
        var nc1: [Int32] = []
        var nc2: [Int32] = []
        var nc3: [Int32] = []
        swap(&queries, &selectors[0].similarity)
        swap(&ns0, &selectors[0].neighborScores)
        swap(&nc0, &selectors[0].neighborContext)
        swap(&ns1, &selectors[1].neighborScores)
        swap(&nc1, &selectors[1].neighborContext)
        swap(&ns2, &selectors[2].neighborScores)
        swap(&nc2, &selectors[2].neighborContext)
        swap(&ns3, &selectors[3].neighborScores)
        swap(&nc3, &selectors[3].neighborContext)
        if queries.count < 4 * s { queries = [Float](repeating: 0, count: 4 * s) }
        func prepare(_ l: Int, _ ns: inout [Float], _ nc: inout [Int32]) {
            var q: [Float] = []
            var r: [Int32] = []
            swap(&q, &selectors[l].query)
            swap(&r, &selectors[l].recent)
            if l < count {
                prepareRankingInputs(user: user(l), recent: &r, query: &q, neighborContext: &nc, neighborScores: &ns)
            } else {
                model.contextQuery(user: user(l), context: [], into: &q)  // idle lane: any valid query
            }
            queries.withUnsafeMutableBufferPointer { Q in for c in 0..<s { Q[l * s + c] = q[c] } }
            swap(&q, &selectors[l].query)
            swap(&r, &selectors[l].recent)
        }
        prepare(0, &ns0, &nc0)
        prepare(1, &ns1, &nc1)
        prepare(2, &ns2, &nc2)
        prepare(3, &ns3, &nc3)
        defer {
            if count > 0 { clearNeighborScores(context: nc0, scores: &ns0) }
            if count > 1 { clearNeighborScores(context: nc1, scores: &ns1) }
            if count > 2 { clearNeighborScores(context: nc2, scores: &ns2) }
            if count > 3 { clearNeighborScores(context: nc3, scores: &ns3) }
            swap(&queries, &selectors[0].similarity)
            swap(&ns0, &selectors[0].neighborScores)
            swap(&nc0, &selectors[0].neighborContext)
            swap(&ns1, &selectors[1].neighborScores)
            swap(&nc1, &selectors[1].neighborContext)
            swap(&ns2, &selectors[2].neighborScores)
            swap(&nc2, &selectors[2].neighborContext)
            swap(&ns3, &selectors[3].neighborScores)
            swap(&nc3, &selectors[3].neighborContext)
        }
        for l in 0..<4 { selectors[l].reset(k: k) }
        for l in 0..<count { selectors[l].seen.fill(user: user(l), items: store.seenItems(of: user(l))) }
        defer { for l in 0..<count { selectors[l].seen.clear() } }
        let blend = config.neighborWidth > 0
        let popularityBlend = model.popularityBlend
        let n = model.itemCount
        model.windowLog.withUnsafeBufferPointer { WL in
            ns0.withUnsafeBufferPointer { N0 in
                ns1.withUnsafeBufferPointer { N1 in
                    ns2.withUnsafeBufferPointer { N2 in
                        ns3.withUnsafeBufferPointer { N3 in
                            queries.withUnsafeBufferPointer { Q in
                                selectors.withUnsafeMutableBufferPointer { S in
                                    let q = Q.baseAddress!
                                    model.rankingItems.scoreBlocks4(q, q + s, q + 2 * s, q + 3 * s) {
                                        first,
                                        r0,
                                        r1,
                                        r2,
                                        r3 in
                                        func lane(
                                            _ raw: SIMD8<Float>,
                                            _ NS: UnsafeBufferPointer<Float>,
                                            _ u: Int32,
                                            _ selector: inout TopKSelector
                                        ) {
                                            var scores = raw
                                            if blend {
                                                OnlineLearner.addBlendTerms(
                                                    &scores,
                                                    first: first,
                                                    itemCount: n,
                                                    neighborScores: NS,
                                                    windowLog: WL,
                                                    popularityBlend: popularityBlend
                                                )
                                            }
                                            offerBlock(first: first, scores: scores, user: u, selector: &selector)
                                        }
                                        lane(r0, N0, users4.0, &S[0])
                                        if count > 1 { lane(r1, N1, users4.1, &S[1]) }
                                        if count > 2 { lane(r2, N2, users4.2, &S[2]) }
                                        if count > 3 { lane(r3, N3, users4.3, &S[3]) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for l in 0..<count { selectors[l].sorted(into: &outputs[position(l)]) }
    }
}

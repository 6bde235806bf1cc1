// Batched exact ranking (issue 9 item 2): the users touched by one polled batch are ranked together,
// four per pass over the item blocks (``BlockedItemMatrix/scoreBlocks4``), so an exact scan of a large
// catalog reads the item factors once per four users instead of once per user.

extension OnlineLearner {
    /// True when ``rankBatch(userSlots:k:selectors:into:)`` can score known users four at a time:
    /// plain MF scores (user vector · item + bias) with no per-user extras (sequence context, item-
    /// neighbour blend, uncertainty bonus, cold-start blend) and no list stages after selection (MMR,
    /// exploration). Otherwise it still answers, one user at a time.
    public var supportsBatchedRanking: Bool {
        config.ranker == .mf && config.sequenceContext == 0 && config.neighborWidth == 0
            && config.uncertaintyBonus == 0 && config.coldStartUserEvents == 0
            && config.diversityLambda >= 1 && config.explorationEpsilon == 0
    }

    /// Exact top-`k` for each slot of `userSlots` (nil = unknown user), written to `outputs[n]`: each
    /// list equals ``recommend(userSlot:k:selector:into:exact:)`` with `exact: true`, bit for bit
    /// (same kernel arithmetic per query, same offering order). `selectors` and `outputs` are reusable
    /// scratch; they grow to 4 selectors and `userSlots.count` lists and are not shrunk, so a caller
    /// that keeps them ranks without allocating.
    public func rankBatch(userSlots: [Int32?], k: Int, selectors: inout [TopKSelector], into outputs: inout [[ScoredIndex]]) {
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
        if filled > 0 { rankFour(group, count: filled, userSlots: userSlots, k: k, selectors: &selectors, into: &outputs) }
    }

    /// One pass over the item blocks for up to four known, live users (positions in `userSlots`). A
    /// group of fewer than four repeats its first query in the idle lanes and ignores their scores.
    private func rankFour(
        _ group: (Int, Int, Int, Int), count: Int, userSlots: [Int32?], k: Int,
        selectors: inout [TopKSelector], into outputs: inout [[ScoredIndex]]
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
        for l in 0..<4 { selectors[l].reset(k: k) }
        let s = model.userFactors.stride
        selectors.withUnsafeMutableBufferPointer { S in
            model.userFactors.withUnsafeBufferPointer { U in
                let b = U.baseAddress!
                model.rankingItems.scoreBlocks4(
                    b + Int(users4.0) * s, b + Int(users4.1) * s, b + Int(users4.2) * s, b + Int(users4.3) * s
                ) { first, s0, s1, s2, s3 in
                    offerBlock(first: first, scores: s0, user: users4.0, selector: &S[0])
                    if count > 1 { offerBlock(first: first, scores: s1, user: users4.1, selector: &S[1]) }
                    if count > 2 { offerBlock(first: first, scores: s2, user: users4.2, selector: &S[2]) }
                    if count > 3 { offerBlock(first: first, scores: s3, user: users4.3, selector: &S[3]) }
                }
            }
        }
        for l in 0..<count { selectors[l].sorted(into: &outputs[position(l)]) }
    }
}

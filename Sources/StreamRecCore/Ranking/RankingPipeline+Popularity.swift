// The popularity strategy: all-time (or half-life-decayed) weight, or — for cold start — occurrences in
// the recent-positives window.
extension RankingPipeline {
    mutating func rankByPopularity(user: Int32?, recent: Bool, model: MatrixFactorizationModel, items: IdDictionary) {
        if user == nil && !recent && rankByLeaders(model: model, items: items) { return }
        if recent {
            model.statistics.windowCounts.withUnsafeBufferPointer { W in
                offerAll(count: W.count, excluding: user != nil, items: items) { Float(W[$0]) }
            }
        } else {
            model.statistics.popularity.withUnsafeBufferPointer { P in
                offerAll(count: P.count, excluding: user != nil, items: items) { P[$0] }
            }
        }
    }

    @inline(__always)
    private mutating func offerAll(count: Int, excluding: Bool, items: IdDictionary, _ score: (Int) -> Float) {
        for i in 0..<count {
            let c = ScoredIndex(index: Int32(i), score: score(i))
            guard selector.admits(c) else { continue }
            if excluding, selector.seen.contains(c.index) { continue }
            if items.isLive(c.index) { selector.offer(c) }
        }
    }

    /// All-time popularity for an unknown user from the exact most-popular prefix. False (selector
    /// untouched) when the prefix can't fill K live slots: the caller scans every item.
    private mutating func rankByLeaders(model: MatrixFactorizationModel, items: IdDictionary) -> Bool {
        let leaders = model.statistics.leaders.slots
        guard leaders.count >= selector.k else { return false }
        var live = 0
        for s in leaders where items.isLive(s) { live += 1 }
        guard live >= selector.k else { return false }
        model.statistics.popularity.withUnsafeBufferPointer { P in
            for s in leaders where items.isLive(s) { selector.offer(ScoredIndex(index: s, score: P[Int(s)])) }
        }
        return true
    }
}

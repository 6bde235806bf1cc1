/// An item slot with its score.
public struct ScoredIndex: Sendable, Equatable {
    public var index: Int32
    public var score: Float
    public init(index: Int32, score: Float) {
        self.index = index
        self.score = score
    }

    /// Ranking order: higher score first; ties go to the lower slot so results are deterministic.
    @inline(__always)
    public func ranks(above other: ScoredIndex) -> Bool {
        score > other.score || (score == other.score && index < other.index)
    }
}

/// Bounded selection of the K best candidates: a min-heap whose root is the current K-th best, so a
/// candidate that can't enter is rejected with one comparison. Reusable without reallocating.
public struct TopKSelector: Sendable {
    public private(set) var k: Int
    private var heap: [ScoredIndex] = []
    /// The ranked user's consumed items: candidates that could enter are checked against it
    /// (``RankingPipeline`` fills it for one call).
    var seen = SeenSet()

    public init(k: Int) {
        self.k = max(0, k)
        heap.reserveCapacity(self.k)
    }

    public mutating func reset(k: Int) {
        self.k = max(0, k)
        heap.removeAll(keepingCapacity: true)
        heap.reserveCapacity(self.k)
    }

    public var count: Int { heap.count }
    public var isFull: Bool { heap.count >= k }

    /// Score a candidate must beat to enter (−∞ until the heap is full).
    @inline(__always)
    public var threshold: Float { isFull && k > 0 ? heap[0].score : -.infinity }

    /// Would `candidate` enter the selection? Cheap pre-check before an expensive exclusion test.
    @inline(__always)
    public func admits(_ candidate: ScoredIndex) -> Bool {
        k > 0 && (!isFull || candidate.ranks(above: heap[0]))
    }

    @inline(__always)
    public mutating func offer(_ candidate: ScoredIndex) {
        guard admits(candidate) else { return }
        if heap.count < k {
            heap.append(candidate)
            siftUp(heap.count - 1)
        } else {
            heap[0] = candidate
            siftDown(0)
        }
    }

    /// The selection, best first, written into `out` (cleared first, capacity kept).
    public func sorted(into out: inout [ScoredIndex]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: heap)
        out.sort { $0.ranks(above: $1) }
    }

    public func sorted() -> [ScoredIndex] {
        var out = [ScoredIndex]()
        sorted(into: &out)
        return out
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            // Min-heap by rank: the worst candidate sits at the root.
            guard heap[parent].ranks(above: heap[i]) else { return }
            heap.swapAt(parent, i)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var worst = i
            if l < n && heap[worst].ranks(above: heap[l]) { worst = l }
            if r < n && heap[worst].ranks(above: heap[r]) { worst = r }
            if worst == i { return }
            heap.swapAt(i, worst)
            i = worst
        }
    }
}

// Offering scored blocks of 8 items, as the ranking strategies produce them.
extension TopKSelector {
    /// Offers the lanes of one scored block that can enter the selection. Exclusion (consumed, dead) is
    /// checked only for candidates that would enter the top-K.
    @inline(__always)
    mutating func offerBlock(first: Int, scores: SIMD8<Float>, itemCount: Int, items: IdDictionary) {
        guard Self.blockMax(scores) >= threshold else { return }
        for lane in 0..<min(8, itemCount - first) {
            let c = ScoredIndex(index: Int32(first + lane), score: scores[lane])
            if admits(c) && !seen.contains(c.index) && items.isLive(c.index) {
                offer(c)
            }
        }
    }

    /// ``offerBlock(first:scores:itemCount:items:)`` for a block of an inverted list: lanes map to item
    /// slots through `members`.
    @inline(__always)
    mutating func offerMembers(
        _ members: UnsafeBufferPointer<Int32>,
        first: Int,
        scores: SIMD8<Float>,
        items: IdDictionary
    ) {
        guard Self.blockMax(scores) >= threshold else { return }
        for lane in 0..<min(8, members.count - first) {
            let c = ScoredIndex(index: members[first + lane], score: scores[lane])
            if admits(c) && !seen.contains(c.index) && items.isLive(c.index) {
                offer(c)
            }
        }
    }

    /// The block's best score as a hand-written compare-and-select tree: `SIMD8.max()`, `any(mask)` and
    /// `pointwiseMax` compile to out-of-line calls on baseline x86-64 (a third of all serve CPU).
    @inline(__always)
    static func blockMax(_ scores: SIMD8<Float>) -> Float {
        let a = scores.lowHalf
        let b = scores.highHalf
        let m4 = a.replacing(with: b, where: b .> a)
        let c = m4.lowHalf
        let d = m4.highHalf
        let m2 = c.replacing(with: d, where: d .> c)
        return m2[0] > m2[1] ? m2[0] : m2[1]
    }
}

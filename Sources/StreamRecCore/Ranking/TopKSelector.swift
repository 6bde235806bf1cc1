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
    /// Scratch reused by the ranking stages around selection (context query, recent items, MMR
    /// candidates and similarities), so the caller's selector is the only buffer it keeps for
    /// allocation-free ranking with the beyond-MF features on.
    var query: [Float] = []
    var recent: [Int32] = []
    var candidates: [ScoredIndex] = []
    var similarity: [Float] = []
    /// The list before ε-greedy replaced slots (for exploration propensities).
    var greedy: [ScoredIndex] = []
    /// Lists to probe, best first (approximate ranking, ``ItemIndex``).
    var probeOrder: [ScoredIndex] = []
    /// Item-neighbour blend scratch: dense neighbour scores over item slots and the context items.
    var neighborScores: [Float] = []
    var neighborContext: [Int32] = []
    /// Approximate ranking with the blend: which inverted lists this query probed (all false between calls).
    var probedLists: [Bool] = []
    /// The ranked user's consumed items (filled by ``OnlineLearner/excludingSeen(of:selector:_:)``).
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

/// How `recommend` finds a user's top-K among the catalog's items.
public enum RankingMode: String, Codable, Sendable, CaseIterable {
    /// Score every item: cost linear in the catalog.
    case exact
    /// Score only the items of the inverted lists nearest the query (``ItemIndex``), each exactly; exact
    /// below ``ItemIndex/minimumItems`` items, where scanning everything is as cheap.
    case approximate
}

/// An inverted-file (IVF) index over the item vectors for maximum-inner-product search.
///
/// Items live as points `[v_i, b_i]` (factors plus bias) in `k + 1` dimensions, partitioned into
/// `L ≈ √n` lists by k-means. A query scores the `L` centroids (`q · c + c_b`, the mean score of a list),
/// then scans the best ``probes`` lists with the same blocked kernel as exact ranking, so every candidate's
/// score is its exact score and the result is a subset of what exact ranking would consider.
///
/// Maintenance is driven only by model updates, so the index is a deterministic function of the event
/// history: centroids are rebuilt (deterministic k-means, no RNG) when the item count first reaches
/// ``minimumItems`` and each time it doubles; a new item goes to its nearest centroid (full scan); an item
/// whose vector moved is re-assigned among its list and the ``neighborCount`` lists nearest that list,
/// O((1 + M)·k). The persistent state (centroids, the assignment of each item, the build size) travels in
/// snapshots; lists and the derived matrices are rebuilt from it on load, so a resumed run ranks and
/// continues bit-identically. Results do not depend on the order of items inside a list (ties break by
/// item slot), so rebuilding lists in slot order is equivalent.
public struct ItemIndex: Sendable {
    public static let minimumItems = 4096
    public static let neighborCount = 8
    /// Lists probed per query unless set: measured on learned factors in `streamrec-bench`.
    public static let defaultProbes = 24

    public let dimension: Int
    /// Item count at which the first build happens (``minimumItems`` unless a test lowers it).
    public let buildThreshold: Int
    /// Lists scanned per query (a query-time knob: not state, not compared, not serialized).
    public var probes: Int = ItemIndex.defaultProbes
    /// Item count at the last centroid build (0 = not built yet: rank exactly).
    public private(set) var builtAt = 0
    public private(set) var listCount = 0
    /// Padded width of an augmented point (k factors, bias, zeros).
    let pointStride: Int
    /// Centroids, row-major, `pointStride` floats each: mean factors, mean bias, zero padding.
    var centroids: [Float] = []
    /// −|c|²/2 per centroid: nearest centroid = argmax x·c − |c|²/2.
    var halfNorms: [Float] = []
    /// Centroids blocked for query probing (`q · c_v + c_b`) and for assignment (`x · c − |c|²/2`).
    var probeMatrix: BlockedItemMatrix
    var assignMatrix: BlockedItemMatrix
    /// `neighborCount` nearest other centroids of each list (re-assignment search).
    var neighbors: [Int32] = []
    /// List and position within it of each item slot.
    var assignment: [Int32] = []
    var position: [Int32] = []
    /// |v_i| (factors, bias excluded) per item slot: derived, never serialized. Bounds an item's MF
    /// score by Cauchy–Schwarz (q · v_i ≤ |q| |v_i|) so ranking can skip loading rows that can't enter.
    private(set) var factorNorms: [Float] = []
    var lists: [InvertedList] = []
    /// Scratch point (avoids per-update allocation).
    var point: [Float]

    struct InvertedList: Sendable {
        var members: [Int32] = []
        var vectors: BlockedItemMatrix
    }

    public init(dimension: Int, buildThreshold: Int = ItemIndex.minimumItems) {
        self.dimension = dimension
        self.buildThreshold = max(8, buildThreshold)
        pointStride = (dimension + 1 + 7) & ~7
        probeMatrix = BlockedItemMatrix(dimension: dimension)
        assignMatrix = BlockedItemMatrix(dimension: dimension + 1)
        point = [Float](repeating: 0, count: pointStride)
    }

    public var isBuilt: Bool { builtAt > 0 }
    public var itemCount: Int { assignment.count }

    /// Whether the centroids are due for a rebuild at this item count (first at ``minimumItems``, then
    /// each doubling): a function of the count only, so replay and resume agree on when.
    public func needsRebuild(itemCount n: Int) -> Bool {
        builtAt == 0 ? n >= buildThreshold : n >= 2 * builtAt
    }

    /// Members of list `l` (tests, diagnostics).
    public func members(ofList l: Int) -> [Int32] { lists[l].members }
    public func list(ofItem i: Int) -> Int { Int(assignment[i]) }

    public var allocatedBytes: Int {
        (centroids.capacity + halfNorms.capacity + neighbors.capacity + assignment.capacity + position.capacity
            + factorNorms.capacity + point.capacity) * 4 + probeMatrix.allocatedBytes + assignMatrix.allocatedBytes
            + lists.reduce(0) { $0 + $1.members.capacity * 4 + $1.vectors.allocatedBytes }
    }

    // MARK: Maintenance

    /// Item `i`'s vector or bias changed (or it is new, `i == itemCount`): refresh its lane, re-assigning it
    /// to a nearer list among its list's neighbors when it moved.
    public mutating func sync(item i: Int, factors: UnsafePointer<Float>, bias: Float) {
        guard isBuilt else { return }
        var p: [Float] = []
        swap(&p, &point)
        defer { swap(&p, &point) }
        p.withUnsafeMutableBufferPointer { P in
            let x = P.baseAddress!
            x.update(from: factors, count: dimension)
            x[dimension] = bias
            if i >= assignment.count {
                precondition(i == assignment.count, "items are added one slot at a time")
                assignment.append(-1)
                position.append(-1)
                factorNorms.append(0)
                insert(item: i, into: nearest(x), point: x)
                return
            }
            let current = Int(assignment[i])
            let target = nearestAround(x, list: current)
            if target == current {
                lists[current].vectors.update(item: Int(position[i]), factors: x, bias: bias)
                factorNorms[i] = Self.norm(x, count: dimension)
            } else {
                remove(item: i)
                insert(item: i, into: target, point: x)
            }
        }
    }

    private mutating func insert(item i: Int, into l: Int, point x: UnsafePointer<Float>) {
        assignment[i] = Int32(l)
        position[i] = Int32(lists[l].members.count)
        lists[l].members.append(Int32(i))
        lists[l].vectors.appendItem()
        lists[l].vectors.update(item: Int(position[i]), factors: x, bias: x[dimension])
        factorNorms[i] = Self.norm(x, count: dimension)
    }

    @inline(__always)
    private static func norm(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for c in 0..<count { sum += x[c] * x[c] }
        return sum.squareRoot()
    }

    /// |v_i| of item slot `i` as last synced (see ``factorNorms``).
    @inline(__always)
    public func factorNorm(ofItem i: Int) -> Float { factorNorms[i] }

    private mutating func remove(item i: Int) {
        let l = Int(assignment[i])
        let p = Int(position[i])
        let last = lists[l].members.count - 1
        if p != last {
            let moved = lists[l].members[last]
            lists[l].members[p] = moved
            position[Int(moved)] = Int32(p)
            lists[l].vectors.copyLane(from: last, to: p)
        }
        lists[l].members.removeLast()
        lists[l].vectors.removeLast()
    }

    /// Nearest centroid over all lists (ties: lower list).
    func nearest(_ x: UnsafePointer<Float>) -> Int {
        var best = 0
        var bestScore = -Float.infinity
        let n = listCount
        assignMatrix.scoreBlocks(user: x) { first, scores in
            for lane in 0..<min(8, n - first) where scores[lane] > bestScore {
                bestScore = scores[lane]
                best = first + lane
            }
        }
        return best
    }

    /// Greedy walk over the neighbor graph from list `l`: move to the nearest of the current list's
    /// neighbors while it is strictly nearer (at most 8 hops; ties stay).
    func nearestAround(_ x: UnsafePointer<Float>, list l: Int) -> Int {
        let s = pointStride
        let m = Self.neighborCount
        return centroids.withUnsafeBufferPointer { C in
            var best = l
            var bestScore = VectorKernels.dot(x, C.baseAddress! + l * s, stride: s) + halfNorms[l]
            for _ in 0..<8 {
                let from = best
                for j in 0..<min(m, listCount - 1) {
                    let n = Int(neighbors[from * m + j])
                    let score = VectorKernels.dot(x, C.baseAddress! + n * s, stride: s) + halfNorms[n]
                    if score > bestScore {
                        best = n
                        bestScore = score
                    }
                }
                if best == from { break }
            }
            return best
        }
    }

    // MARK: Build

    /// Rebuilds centroids from the current item vectors (deterministic k-means over an evenly strided
    /// sample, seeded by evenly strided items) and assigns every item to its nearest centroid.
    public mutating func rebuild(factors: FactorMatrix, biases: [Float]?) {
        let n = factors.rows
        let lists = max(8, (Int(Double(n).squareRoot()) + 7) & ~7)
        let sampleCount = min(n, 16 * lists)
        let s = pointStride
        let k = dimension
        var sample = [Float](repeating: 0, count: sampleCount * s)
        factors.withUnsafeBufferPointer { V in
            for j in 0..<sampleCount {
                let i = j * n / sampleCount
                for c in 0..<k { sample[j * s + c] = V[i * factors.stride + c] }
                sample[j * s + k] = biases?[i] ?? 0
            }
        }
        var c = [Float](repeating: 0, count: lists * s)
        for l in 0..<lists {
            let j = l * sampleCount / lists
            for d in 0..<s { c[l * s + d] = sample[j * s + d] }
        }
        setCentroids(c, count: lists)
        // Lloyd iterations on the sample; an empty cluster keeps its previous centroid.
        var sums = [Double](repeating: 0, count: lists * s)
        var counts = [Int](repeating: 0, count: lists)
        for _ in 0..<4 {
            for d in sums.indices { sums[d] = 0 }
            for l in counts.indices { counts[l] = 0 }
            sample.withUnsafeBufferPointer { X in
                for j in 0..<sampleCount {
                    let x = X.baseAddress! + j * s
                    let l = nearest(x)
                    counts[l] += 1
                    for d in 0...k { sums[l * s + d] += Double(x[d]) }
                }
            }
            for l in 0..<lists where counts[l] > 0 {
                for d in 0...k { c[l * s + d] = Float(sums[l * s + d] / Double(counts[l])) }
            }
            setCentroids(c, count: lists)
        }
        builtAt = n
        assignAll(factors: factors, biases: biases)
    }

    /// Installs centroids and everything derived from them (blocked matrices, norms, neighbor lists).
    mutating func setCentroids(_ c: [Float], count: Int) {
        let s = pointStride
        let k = dimension
        let m = Self.neighborCount
        centroids = c
        listCount = count
        halfNorms = [Float](repeating: 0, count: count)
        probeMatrix = BlockedItemMatrix(dimension: k)
        assignMatrix = BlockedItemMatrix(dimension: k + 1)
        c.withUnsafeBufferPointer { C in
            for l in 0..<count {
                let row = C.baseAddress! + l * s
                halfNorms[l] = -VectorKernels.dot(row, row, stride: s) / 2
                probeMatrix.appendItem()
                probeMatrix.update(item: l, factors: row, bias: row[k])
                assignMatrix.appendItem()
                assignMatrix.update(item: l, factors: row, bias: halfNorms[l])
            }
        }
        // Neighbors: the m nearest other centroids (ties: lower list).
        neighbors = [Int32](repeating: 0, count: count * m)
        var candidates = [ScoredIndex]()
        c.withUnsafeBufferPointer { C in
            for l in 0..<count {
                candidates.removeAll(keepingCapacity: true)
                let a = C.baseAddress! + l * s
                for o in 0..<count where o != l {
                    let score = VectorKernels.dot(a, C.baseAddress! + o * s, stride: s) + halfNorms[o]
                    candidates.append(ScoredIndex(index: Int32(o), score: score))
                }
                candidates.sort { $0.ranks(above: $1) }
                for j in 0..<min(m, candidates.count) { neighbors[l * m + j] = candidates[j].index }
            }
        }
    }

    /// Puts every item into its nearest list, in slot order.
    mutating func assignAll(factors: FactorMatrix, biases: [Float]?) {
        fillLists(factors: factors, biases: biases) { index, _, x in index.nearest(x) }
    }

    /// Rebuilds lists from a stored assignment (snapshot restore).
    mutating func restoreLists(factors: FactorMatrix, biases: [Float]?, assignment stored: [Int32]) {
        fillLists(factors: factors, biases: biases) { _, i, _ in Int(stored[i]) }
    }

    /// Empties the lists and inserts every item, in slot order, into the list `choose` names for its
    /// augmented point (factors + bias).
    private mutating func fillLists(
        factors: FactorMatrix,
        biases: [Float]?,
        choose: (ItemIndex, Int, UnsafePointer<Float>) -> Int
    ) {
        let n = factors.rows
        assignment = [Int32](repeating: -1, count: n)
        position = [Int32](repeating: -1, count: n)
        factorNorms = [Float](repeating: 0, count: n)
        lists = (0..<listCount).map { _ in InvertedList(vectors: BlockedItemMatrix(dimension: dimension)) }
        var p: [Float] = []
        swap(&p, &point)
        defer { swap(&p, &point) }
        factors.withUnsafeBufferPointer { V in
            p.withUnsafeMutableBufferPointer { P in
                let x = P.baseAddress!
                for i in 0..<n {
                    x.update(from: V.baseAddress! + i * factors.stride, count: dimension)
                    x[dimension] = biases?[i] ?? 0
                    insert(item: i, into: choose(self, i, x), point: x)
                }
            }
        }
    }

    // MARK: Query

    /// Calls `body(members, firstLane, scores)` for every block of the ``probes`` lists whose centroids
    /// score highest for `query` (k floats, padded), best list first. `order` is reusable scratch.
    @inline(__always)
    public func forEachProbedBlock(
        query: UnsafePointer<Float>,
        probes: Int,
        order: inout [ScoredIndex],
        _ body: (UnsafeBufferPointer<Int32>, Int, SIMD8<Float>) -> Void
    ) {
        let p = min(max(1, probes), listCount)
        order.removeAll(keepingCapacity: true)
        let n = listCount
        // Top-p lists by centroid score: a sorted (descending) array, tiny next to the scan.
        probeMatrix.scoreBlocks(user: query) { first, scores in
            for lane in 0..<min(8, n - first) {
                let c = ScoredIndex(index: Int32(first + lane), score: scores[lane])
                if order.count == p, !c.ranks(above: order[p - 1]) { continue }
                var at = order.count
                while at > 0 && c.ranks(above: order[at - 1]) { at -= 1 }
                if order.count == p { order.removeLast() }
                order.insert(c, at: at)
            }
        }
        for o in order {
            let list = lists[Int(o.index)]
            list.members.withUnsafeBufferPointer { M in
                list.vectors.scoreBlocks(user: query) { first, scores in body(M, first, scores) }
            }
        }
    }

    // MARK: Serialization (persistent state only)

    func encode(into w: inout BinaryWriter) {
        w.write(UInt32(1))  // index format
        w.write(UInt32(dimension))
        w.write(UInt64(buildThreshold))
        w.write(UInt64(builtAt))
        w.write(UInt32(listCount))
        w.writeArray(centroids)
        w.writeArray(assignment)
    }

    static func decode(
        from r: inout BinaryReader,
        factors: FactorMatrix,
        biases: [Float]?
    ) throws(BinaryReader.Failure) -> ItemIndex {
        guard try r.read(UInt32.self, "index format") == 1 else {
            throw .init(description: "unknown item index format")
        }
        let dimension = Int(try r.read(UInt32.self, "index dimension"))
        guard dimension == factors.dimension else {
            throw .init(description: "item index dimension disagrees with the model")
        }
        let threshold = Int(try r.read(UInt64.self, "index build threshold"))
        guard threshold >= 8 && threshold <= Int(Int32.max) else {
            throw .init(description: "invalid item index build threshold")
        }
        var index = ItemIndex(dimension: dimension, buildThreshold: threshold)
        let builtAt = Int(try r.read(UInt64.self, "index build size"))
        let listCount = Int(try r.read(UInt32.self, "index lists"))
        let centroids = try r.readArray(Float.self, "index centroids")
        let assignment = try r.readArray(Int32.self, "index assignment")
        guard builtAt == 0 || (listCount >= 1 && builtAt <= factors.rows) else {
            throw .init(description: "item index sizes disagree with the model")
        }
        guard builtAt > 0 else { return index }
        guard centroids.count == listCount * index.pointStride, assignment.count == factors.rows,
            assignment.allSatisfy({ $0 >= 0 && Int($0) < listCount }), centroids.allSatisfy(\.isFinite)
        else { throw .init(description: "item index sizes disagree with the model") }
        index.builtAt = builtAt
        index.setCentroids(centroids, count: listCount)
        index.restoreLists(factors: factors, biases: biases, assignment: assignment)
        return index
    }
}

extension ItemIndex: Equatable {
    /// Equal persistent state (list order inside lists is history-dependent and irrelevant to results).
    public static func == (a: ItemIndex, b: ItemIndex) -> Bool {
        a.dimension == b.dimension && a.buildThreshold == b.buildThreshold && a.builtAt == b.builtAt
            && a.listCount == b.listCount
            && a.centroids == b.centroids && a.assignment == b.assignment
    }
}

/// The item-neighbour blend added to MF scores, `mf + a · neighbours + b · log(1 + recent count)`: the
/// co-occurrence scorer and the learned weights a (``neighborWeight``) and b (``popularityWeight``).
/// Empty and inert when `neighborWidth == 0`.
public struct ItemBlend: Sendable, Equatable {
    /// Item–item co-occurrence scorer; the learner and item sync add pairs to it.
    public internal(set) var neighbors: ItemNeighbors
    public private(set) var neighborWeight: Float = 1
    public private(set) var popularityWeight: Float = 0

    init(neighborWidth: Int) { neighbors = ItemNeighbors(width: neighborWidth) }

    /// Sets both weights: the blend step's result or an item-sync merge (never negative).
    mutating func setWeights(neighbor: Float, popularity: Float) {
        neighborWeight = neighbor
        popularityWeight = popularity
    }

    mutating func restore(neighbors: ItemNeighbors, neighborWeight: Float, popularityWeight: Float) {
        self.neighbors = neighbors
        self.neighborWeight = neighborWeight
        self.popularityWeight = popularityWeight
    }
}

// The model keeps an ``ItemIndex`` in step with its item vectors when ranking approximately.

extension MatrixFactorizationModel {
    /// Switches ranking mode. `.approximate` builds the index now when the catalog is large enough (a
    /// deterministic function of the current state) and keeps an index restored from a snapshot as is.
    public mutating func setRanking(
        _ mode: RankingMode,
        probes: Int? = nil,
        buildThreshold: Int = ItemIndex.minimumItems
    ) {
        switch mode {
        case .exact:
            itemIndex = nil
        case .approximate:
            if itemIndex == nil {
                itemIndex = ItemIndex(dimension: config.factors, buildThreshold: buildThreshold)
                if itemIndex!.needsRebuild(itemCount: itemCount) { rebuildIndex() }
            }
            if let probes { itemIndex!.probes = max(1, probes) }
        }
    }

    public var ranking: RankingMode { itemIndex == nil ? .exact : .approximate }

    /// Item `i` changed (or is new): rebuild the centroids at a size milestone, else refresh its entry.
    mutating func syncIndex(_ i: Int32) {
        if itemIndex!.needsRebuild(itemCount: itemFactors.rows) {
            rebuildIndex()
            return
        }
        let bias = config.useItemBias ? itemBias[Int(i)] : 0
        let s = itemFactors.stride
        itemFactors.withUnsafeBufferPointer { V in
            itemIndex!.sync(item: Int(i), factors: V.baseAddress! + Int(i) * s, bias: bias)
        }
    }

    mutating func rebuildIndex() {
        // Moved out while rebuilding so the index is uniquely referenced (no copy-on-write of its lists).
        var index = itemIndex!
        itemIndex = nil
        index.rebuild(factors: itemFactors, biases: config.useItemBias ? itemBias : nil)
        itemIndex = index
    }

    /// Restores an index from its snapshot encoding against this model's item vectors.
    mutating func restoreIndex(from bytes: [UInt8]) throws(BinaryReader.Failure) {
        var r = BinaryReader(bytes)
        itemIndex = try ItemIndex.decode(from: &r, factors: itemFactors, biases: config.useItemBias ? itemBias : nil)
        guard r.remaining == 0 else { throw .init(description: "trailing bytes after the item index") }
    }

    func encodedIndex() -> [UInt8]? {
        guard let itemIndex else { return nil }
        var w = BinaryWriter()
        itemIndex.encode(into: &w)
        return w.bytes
    }
}

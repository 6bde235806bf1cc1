// Splitting a batch into records a broker accepts: Kafka's default message.max.bytes is ~1 MB, and a
// new learner's first batch publishes every item it knows as new (a 10K-item catalog at k=32 with
// context vectors is ~3 MB). Each piece is an ordinary batch with its own sequence number, so the
// receivers' de-duplication and ordering work unchanged; applying the pieces in order equals applying
// the whole batch (rows are independent; pair ops are replayed in the same order).

extension ItemDeltaBatch {
    /// Encoded bytes of row `r` (id, deltas, and the initial row when `isNew`).
    func encodedBytes(ofRow r: Int, isNew: Bool) -> Int {
        let vector = 4 * dimension * (hasContext ? 2 : 1)
        let delta = 2 + ids[r].utf8.count + vector + 4 + 4 + 8
        return isNew ? delta + 4 + vector + 4 : delta
    }

    /// Header, blend deltas, counts and trailer: what every encoded piece carries besides its rows.
    static let encodedOverhead = 48 + 8 + 4

    /// Pieces whose encodings stay within `maxBytes` (a single row or pair op larger than that still
    /// gets a piece of its own), in row order, then pair-op order. The first piece carries the event
    /// count and the blend-weight deltas; sequences are left for the caller to assign.
    public func split(maxEncodedBytes maxBytes: Int) -> [ItemDeltaBatch] {
        var pieces: [ItemDeltaBatch] = []
        var piece = emptyPiece(first: true)
        var size = Self.encodedOverhead
        func flush() {
            pieces.append(piece)
            piece = emptyPiece(first: false)
            size = Self.encodedOverhead
        }
        let k = dimension
        for (r, newIndex) in rows {
            let bytes = encodedBytes(ofRow: r, isNew: newIndex != nil)
            if size + bytes > maxBytes && !piece.ids.isEmpty { flush() }
            size += bytes
            if let n = newIndex {
                piece.newRows.append(UInt32(piece.ids.count))
                piece.baseFactors.append(contentsOf: baseFactors[(n * k)..<((n + 1) * k)])
                if hasContext { piece.baseContext.append(contentsOf: baseContext[(n * k)..<((n + 1) * k)]) }
                piece.baseBias.append(baseBias[n])
            }
            piece.ids.append(ids[r])
            piece.factorDeltas.append(contentsOf: factorDeltas[(r * k)..<((r + 1) * k)])
            if hasContext { piece.contextDeltas.append(contentsOf: contextDeltas[(r * k)..<((r + 1) * k)]) }
            piece.biasDeltas.append(biasDeltas[r])
            piece.popularityDeltas.append(popularityDeltas[r])
            piece.lastSeen.append(lastSeen[r])
        }
        // Pair ops: [item, n, previous₁ … previousₙ], ids re-interned per piece.
        var local: [UInt32: UInt32] = [:]
        func intern(_ global: UInt32) -> (UInt32, Int) {
            if let l = local[global] { return (l, 0) }
            let l = UInt32(piece.pairIds.count)
            piece.pairIds.append(pairIds[Int(global)])
            local[global] = l
            return (l, 2 + pairIds[Int(global)].utf8.count)
        }
        var o = 0
        while o + 1 < pairOps.count {
            let n = Int(pairOps[o + 1])
            let end = min(pairOps.count, o + 2 + n)
            var bytes = 4 * (end - o)
            for g in [pairOps[o]] + pairOps[(o + 2)..<end] where local[g] == nil {
                bytes += 2 + pairIds[Int(g)].utf8.count
            }
            if size + bytes > maxBytes && (!piece.ids.isEmpty || !piece.pairOps.isEmpty) {
                flush()
                local.removeAll(keepingCapacity: true)
            }
            size += bytes
            piece.pairOps.append(intern(pairOps[o]).0)
            piece.pairOps.append(UInt32(n))
            for g in pairOps[(o + 2)..<end] { piece.pairOps.append(intern(g).0) }
            o = end
        }
        if pieces.isEmpty || !piece.ids.isEmpty || !piece.pairOps.isEmpty { pieces.append(piece) }
        return pieces
    }

    private func emptyPiece(first: Bool) -> ItemDeltaBatch {
        var p = ItemDeltaBatch(publisher: publisher, sequence: sequence, dimension: dimension, hasContext: hasContext)
        if first {
            p.events = events
            p.neighborBlendDelta = neighborBlendDelta
            p.popularityBlendDelta = popularityBlendDelta
        }
        return p
    }
}

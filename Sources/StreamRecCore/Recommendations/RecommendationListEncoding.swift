// Allocation-free list encoding for the serving path: ranked slots go straight into a
// reused byte buffer through ``RecommendationList/appendJSON(user:modelVersion:timestamp:sourceOffset:fallback:to:items:)``,
// the same writer `RecommendationList.jsonBytes()` uses, so the bytes are identical.

extension JSONOutput {
    /// Appends a decimal integer, the same digits as `String(value)`, without creating a String.
    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        // The magnitude as UInt64 so Int64.min works too; digits from the most significant one.
        var magnitude = value.magnitude
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        }
    }
}

extension OnlineLearner {
    /// Appends the JSON list for `ranked` (``recommend(userSlot:k:pipeline:into:exact:)``'s output) to
    /// `out`: byte-for-byte the document of the ``RecommendationList`` built from the same slots (dead
    /// slots dropped, `fallback: "popularity"` for an unknown user), without building it. Exploration
    /// propensities are not written: with ε > 0 build the list with its propensities instead.
    public func appendRecommendationJSON(
        user: String,
        userSlot: Int32?,
        ranked: [ScoredIndex],
        timestamp: Int64,
        sourceOffset: SourceOffset? = nil,
        modelVersion: String,
        to out: inout [UInt8]
    ) {
        RecommendationList.appendJSON(
            user: user,
            modelVersion: modelVersion,
            timestamp: timestamp,
            sourceOffset: sourceOffset,
            fallback: userSlot == nil ? "popularity" : nil,
            to: &out
        ) { emit in
            for r in ranked {
                if let id = items.id(at: r.index) { emit(id, r.score, nil, nil) }
            }
        }
    }
}

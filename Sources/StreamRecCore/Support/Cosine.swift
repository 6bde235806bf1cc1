/// Cosine similarity from precomputed norms, the one definition used by item similarity
/// (``OnlineLearner/similarItems(toItemSlot:k:pipeline:into:)``), MMR re-ranking and intra-list
/// diversity: callers compute each vector's norm once and pair it up many times.
extension VectorKernels {
    /// Euclidean norm of one factor row.
    @inlinable @inline(__always)
    public static func norm(_ a: UnsafePointer<Float>, stride: Int) -> Float {
        dot(a, a, stride: stride).squareRoot()
    }

    /// cos(a, b) given their norms; 0 when either vector is all zero (it has no direction).
    @inlinable @inline(__always)
    public static func cosine(
        _ a: UnsafePointer<Float>,
        _ b: UnsafePointer<Float>,
        normA: Float,
        normB: Float,
        stride: Int
    ) -> Float {
        normA > 0 && normB > 0 ? dot(a, b, stride: stride) / (normA * normB) : 0
    }
}

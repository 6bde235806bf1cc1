/// Row-major factor storage: one contiguous `[Float]`, rows padded to a multiple of 8 lanes so every
/// row can be processed with aligned-size `SIMD8<Float>` loads and no scalar tail loop.
///
/// Padding lanes are always zero, so dot products over the padded width equal the true dot product.
public struct FactorMatrix: Sendable, Equatable {
    /// Logical number of factors (k).
    public let dimension: Int
    /// Floats per row in storage (k rounded up to a multiple of 8).
    public let stride: Int
    public internal(set) var rows: Int
    @usableFromInline var storage: [Float]
    /// Rows written since the last ``drainChanges(_:)``, when tracking is on (``trackChanges()``): what an
    /// incremental snapshot copies (``FactorMatrixShadow``). Not part of the value (`==` ignores it).
    private var changes: RowChangeSet?

    public static func == (a: Self, b: Self) -> Bool {
        a.dimension == b.dimension && a.stride == b.stride && a.rows == b.rows && a.storage == b.storage
    }

    /// Starts recording which rows are written (idempotent).
    public mutating func trackChanges() { if changes == nil { changes = RowChangeSet() } }

    public var isTrackingChanges: Bool { changes != nil }

    /// Records that row `r` was (or is about to be) written through a raw pointer. One branch when
    /// tracking is off.
    @inline(__always)
    public mutating func markChanged(_ r: Int) {
        if changes != nil { changes!.insert(r) }
    }

    /// Calls `body(row, its values)` for each row written since the last call, in row order, then
    /// forgets them.
    public mutating func drainChanges(_ body: (Int, UnsafePointer<Float>) -> Void) {
        guard var set = changes else { return }
        changes = nil  // moved out while draining so the set is uniquely referenced
        let s = stride
        let n = rows
        storage.withUnsafeBufferPointer { S in set.drain { r in if r < n { body(r, S.baseAddress! + r * s) } } }
        changes = set
    }

    public init(dimension: Int, rows: Int = 0, reservingRows: Int = 0) {
        precondition(dimension > 0, "factor dimension must be positive")
        self.dimension = dimension
        self.stride = (dimension + 7) & ~7
        self.rows = rows
        self.storage = [Float](repeating: 0, count: rows * stride)
        if reservingRows > rows { storage.reserveCapacity(reservingRows * stride) }
    }

    /// Rebuilds from serialized values (`rows * dimension` floats, unpadded).
    public init(dimension: Int, rows: Int, unpadded values: [Float]) {
        precondition(values.count == rows * dimension)
        self.init(dimension: dimension, rows: rows)
        for r in 0..<rows {
            for c in 0..<dimension { storage[r * stride + c] = values[r * dimension + c] }
        }
    }

    /// Appends a zero row and returns its index.
    @discardableResult
    public mutating func appendRow() -> Int {
        storage.append(contentsOf: repeatElement(0, count: stride))
        rows += 1
        return rows - 1
    }

    /// Row values without padding (for serialization and tests).
    public func row(_ r: Int) -> [Float] {
        Array(storage[(r * stride)..<(r * stride + dimension)])
    }

    public mutating func setRow(_ r: Int, _ values: [Float]) {
        precondition(values.count == dimension)
        markChanged(r)
        for c in 0..<dimension { storage[r * stride + c] = values[c] }
    }

    /// All rows, unpadded, concatenated.
    public func unpaddedValues() -> [Float] {
        var out = [Float]()
        out.reserveCapacity(rows * dimension)
        for r in 0..<rows { out.append(contentsOf: storage[(r * stride)..<(r * stride + dimension)]) }
        return out
    }

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer(body)
    }

    /// Bytes held by the storage (capacity, not count: what the process actually pays).
    public var allocatedBytes: Int { storage.capacity * MemoryLayout<Float>.stride }
}

/// SIMD kernels over padded rows. `stride` is always a multiple of 8.
public enum VectorKernels {
    @inlinable @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, stride: Int) -> Float {
        var acc0 = SIMD8<Float>()
        var acc1 = SIMD8<Float>()
        var i = 0
        // Two accumulators break the dependency chain. Plain `a * b + c`, not `addingProduct`: a fused
        // multiply-add must be exact, and without an FMA target feature Swift lowers it to a libm call
        // per lane (measured 8x slower); mul + add vectorizes on any x86-64/arm64.
        while i + 16 <= stride {
            acc0 += load(a + i) * load(b + i)
            acc1 += load(a + i + 8) * load(b + i + 8)
            i += 16
        }
        if i < stride { acc0 += load(a + i) * load(b + i) }
        return (acc0 + acc1).sum()
    }

    /// y = y * decay + alpha * x
    @inlinable @inline(__always)
    public static func scaleAdd(
        _ y: UnsafeMutablePointer<Float>,
        decay: Float,
        alpha: Float,
        _ x: UnsafePointer<Float>,
        stride: Int
    ) {
        var i = 0
        let d = SIMD8<Float>(repeating: decay)
        let a = SIMD8<Float>(repeating: alpha)
        while i < stride {
            let v = load(UnsafePointer(y + i)) * d + a * load(x + i)
            store(v, y + i)
            i += 8
        }
    }

    /// True when every lane is finite (padding is zero, so padded width is fine).
    @inlinable @inline(__always)
    public static func allFinite(_ a: UnsafePointer<Float>, stride: Int) -> Bool {
        var acc = SIMD8<Float>()
        var i = 0
        // Any NaN/Inf lane turns the running product-with-zero into NaN.
        while i < stride {
            acc += load(a + i) * 0
            i += 8
        }
        return acc.sum() == 0
    }

    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}

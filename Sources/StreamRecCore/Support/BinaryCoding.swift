/// Little-endian binary writer used by the snapshot codec. Bulk arrays are copied with one memcpy.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity: Int = 0) { bytes.reserveCapacity(reservingCapacity) }

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func write(_ value: Float) { write(value.bitPattern) }
    public mutating func write(_ value: Double) { write(value.bitPattern) }
    public mutating func write(_ value: Bool) { write(UInt8(value ? 1 : 0)) }

    public mutating func write(_ string: String) {
        let utf8 = Array(string.utf8)
        write(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func writeBytes(_ raw: [UInt8]) {
        write(UInt64(raw.count))
        bytes.append(contentsOf: raw)
    }

    /// Writes a count followed by the raw little-endian elements (this codebase only targets LE hosts).
    public mutating func writeArray<T: BitwiseCopyable>(_ values: [T]) {
        write(UInt64(values.count))
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func writeStrings(_ values: [String]) {
        write(UInt64(values.count))
        for s in values { write(s) }
    }
}

/// Reads what ``BinaryWriter`` wrote; every read is bounds-checked and fails with
/// ``BinaryReader/Failure`` instead of trapping, because snapshot bytes come from disk.
public struct BinaryReader {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    let bytes: [UInt8]
    public private(set) var position: Int

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var remaining: Int { bytes.count - position }

    mutating func take(_ n: Int, _ what: String) throws(Failure) -> Range<Int> {
        guard n >= 0, n <= remaining else {
            throw Failure(
                description:
                    "truncated while reading \(what) (need \(n) bytes at offset \(position), \(remaining) left)"
            )
        }
        defer { position += n }
        return position..<(position + n)
    }

    public mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String = "integer") throws(Failure) -> T {
        let r = try take(MemoryLayout<T>.size, what)
        var v: T = 0
        withUnsafeMutableBytes(of: &v) { dst in
            bytes.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[r])) }
        }
        return T(littleEndian: v)
    }

    public mutating func readFloat(_ what: String = "float") throws(Failure) -> Float {
        Float(bitPattern: try read(UInt32.self, what))
    }

    public mutating func readDouble(_ what: String = "double") throws(Failure) -> Double {
        Double(bitPattern: try read(UInt64.self, what))
    }

    public mutating func readBool(_ what: String = "bool") throws(Failure) -> Bool {
        try read(UInt8.self, what) != 0
    }

    public mutating func readString(_ what: String = "string", maxBytes: Int = 1 << 20) throws(Failure) -> String {
        let n = Int(try read(UInt32.self, what))
        guard n <= maxBytes else { throw Failure(description: "\(what): length \(n) exceeds cap \(maxBytes)") }
        let r = try take(n, what)
        return String(decoding: bytes[r], as: UTF8.self)
    }

    public mutating func readBytes(_ what: String = "bytes") throws(Failure) -> [UInt8] {
        let n = try read(UInt64.self, what)
        guard n <= UInt64(remaining) else {
            throw Failure(description: "\(what): length \(n) exceeds remaining \(remaining)")
        }
        return Array(bytes[try take(Int(n), what)])
    }

    public mutating func readArray<T: BitwiseCopyable>(_: T.Type, _ what: String) throws(Failure) -> [T] {
        let n = try read(UInt64.self, what)
        let size = MemoryLayout<T>.stride
        guard n <= UInt64(remaining / max(size, 1)) else {
            throw Failure(description: "\(what): \(n) elements exceed the remaining \(remaining) bytes")
        }
        let r = try take(Int(n) * size, what)
        return [T](unsafeUninitializedCapacity: Int(n)) { buf, count in
            bytes.withUnsafeBytes { src in
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[r]))
            }
            count = Int(n)
        }
    }

    public mutating func readStrings(_ what: String) throws(Failure) -> [String] {
        let n = try read(UInt64.self, what)
        // Every string costs at least its 4-byte length prefix: a cheap plausibility bound.
        guard n <= UInt64(remaining / 4) else { throw Failure(description: "\(what): count \(n) implausible") }
        var out = [String]()
        out.reserveCapacity(Int(n))
        for _ in 0..<n { out.append(try readString(what)) }
        return out
    }
}

import Foundation
import Synchronization

/// A shareable reference to a `Mutex`-guarded value, for state that librdkafka callbacks capture
/// (a `Mutex` is noncopyable, so closures can't capture one directly). The package's one lock is
/// `Synchronization.Mutex`; stored state that no closure captures uses a `Mutex` directly.
final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R: Sendable>(_ body: (inout Value) throws -> R) rethrows -> R {
        try mutex.withLock { try body(&$0) }
    }
}

extension Duration {
    /// Milliseconds for librdkafka timeouts, clamped to `0...Int32.max`.
    var rdMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        let ms = seconds.multipliedReportingOverflow(by: 1000).partialValue + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(0, ms))
    }
}

extension String {
    /// A Swift string from a possibly-NULL C string.
    init?(optionalCString pointer: UnsafePointer<CChar>?) {
        guard let pointer else { return nil }
        self.init(cString: pointer)
    }
}

/// Copies `count` bytes at `pointer` (NULL → nil) into a Swift array.
func copyBytes(_ pointer: UnsafeRawPointer?, count: Int) -> [UInt8]? {
    guard let pointer else { return nil }
    return Array(UnsafeRawBufferPointer(start: pointer, count: count))
}

/// A buffer for librdkafka's `errstr` out-parameters.
struct ErrorString {
    var buffer = [CChar](repeating: 0, count: 512)
    var size: Int { buffer.count }
    var text: String { buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } }
}

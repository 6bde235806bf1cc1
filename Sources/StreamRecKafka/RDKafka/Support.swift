import Foundation

/// A value guarded by a lock. `@unchecked Sendable` is sound because every access to `value`
/// goes through `withLock`. (`Synchronization.Mutex` needs macOS 15; the package targets 14.)
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// Runs blocking librdkafka calls (polls with short timeouts, flush) on one dedicated serial
/// dispatch queue, off Swift's cooperative thread pool. With 2 cores the cooperative pool has 2
/// threads; parking one in `rd_kafka_consumer_poll` would halve the process' async capacity.
/// One queue per client also keeps polling (and so rebalance callbacks) on a single thread.
final class BlockingWorker: Sendable {
    private let queue: DispatchQueue

    init(label: String) { queue = DispatchQueue(label: label) }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
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

import CRDKafka
public import Logging
import Synchronization

/// A librdkafka producer, idempotent by default (`enable.idempotence=true` unless configured
/// otherwise), so retries after broker hiccups never duplicate or reorder a partition's records.
///
/// `send` only enqueues; delivery is confirmed asynchronously by delivery reports, counted in
/// `deliveredCount` / `failedCount` and passed to the optional handler. Reports are served by `poll`,
/// which `send` calls without waiting; call `poll` (or `flush`) regularly so reports keep flowing
/// when nothing is being sent. Thread-safe.
public final class KafkaProducer: @unchecked Sendable {
    // @unchecked Sendable: the handle is thread-safe and the mutable state is behind mutexes.

    /// The outcome of one `send`, reported once librdkafka gives up or the broker acknowledges.
    public struct DeliveryReport: Sendable {
        public var topic: String
        public var partition: Int32
        /// The record's offset, or a negative value if it is unknown (failure, or acks=0).
        public var offset: Int64
        public var key: [UInt8]?
        /// The record's value, kept only for failed deliveries (so the caller can re-send it).
        public var value: [UInt8]?
        /// nil when delivered.
        public var error: KafkaError?
    }

    private struct Counters {
        var delivered = 0
        var failed = 0
    }

    private let handle: RDKafkaHandle
    private let counters: LockedBox<Counters>
    private let closed = Mutex(false)
    private let queueFullTimeout: Duration
    private let logger: Logger
    /// The librdkafka handle, for the test kit's fault injection.
    package var rk: OpaquePointer { handle.rk }

    /// - Parameters:
    ///   - queueFullTimeout: how long `send` keeps serving delivery reports and retrying while the
    ///     local queue (`queue.buffering.max.messages`) is full before throwing.
    ///   - deliveryHandler: called once per message, on the thread that calls `poll` (or `send`/`flush`).
    ///   - onError: client errors (broker down, transport failures), served by `poll`/`flush` like reports.
    public init(
        configuration: KafkaConfig,
        queueFullTimeout: Duration = .seconds(10),
        deliveryHandler: (@Sendable (DeliveryReport) -> Void)? = nil,
        onError: (@Sendable (KafkaError) -> Void)? = nil,
        logger: Logger = Logger(label: "streamrec.kafka.producer")
    ) throws {
        var config = configuration
        if config["enable.idempotence"] == nil { config["enable.idempotence"] = "true" }
        let counters = LockedBox(Counters())
        // A purge or an outage fails every queued message at once (tens of thousands): a few lines and a
        // count, not one line each.
        let failureLog = LockedBox(LogRateLimiter(burst: 5, intervalSeconds: 10))
        let onDelivery: RDKafkaCallbacks.Delivery = { @Sendable message in
            let m = message.pointee
            let ok = m.err == RD_KAFKA_RESP_ERR_NO_ERROR
            counters.withLock { ok ? ($0.delivered += 1) : ($0.failed += 1) }
            let error = ok ? nil : KafkaError(m.err, "delivery")
            if let error, case .log(let suppressed) = failureLog.withLock({ $0.admit() }) {
                logger.warning("\(error)", metadata: ["suppressed_since_last": "\(suppressed)"])
            }
            guard let deliveryHandler else { return }
            deliveryHandler(
                DeliveryReport(
                    topic: String(optionalCString: rd_kafka_topic_name(m.rkt)) ?? "",
                    partition: m.partition,
                    offset: m.offset,
                    key: copyBytes(m.key, count: m.key_len),
                    value: ok ? nil : copyBytes(m.payload, count: m.len),
                    error: error
                )
            )
        }
        handle = try RDKafkaHandle(
            RD_KAFKA_PRODUCER,
            configuration: config,
            callbacks: RDKafkaCallbacks(logger: logger, onError: onError, onDelivery: onDelivery)
        )
        self.counters = counters
        self.queueFullTimeout = queueFullTimeout
        self.logger = logger
    }

    deinit {
        // rd_kafka_destroy does not wait for queued messages; give them a short chance.
        if !closed.withLock({ $0 }) { _ = rd_kafka_flush(rk, 1000) }
    }

    /// Messages acknowledged by the broker so far.
    public var deliveredCount: Int { counters.withLock { $0.delivered } }
    /// Messages librdkafka gave up on so far.
    public var failedCount: Int { counters.withLock { $0.failed } }
    /// Messages and requests not yet acknowledged (librdkafka's out queue).
    public var outstandingCount: Int { Int(rd_kafka_outq_len(rk)) }

    /// Non-NULL stand-in for empty keys/values (NULL would mean "null"). `nonisolated(unsafe)` is
    /// sound: allocated once, never written (librdkafka copies 0 bytes from it) and never freed.
    private nonisolated(unsafe) static let emptyPayload = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    /// Enqueues one record (librdkafka copies the bytes). Does not wait for delivery.
    /// - Parameters:
    ///   - partition: nil lets the partitioner hash the key (same key → same partition).
    ///   - timestamp: ms since the epoch; nil means "now".
    /// - Throws: `KafkaError` for unknown topic/partition, oversized messages, a full queue after
    ///   `queueFullTimeout`, a closed producer, or a fatal producer error (`isFatal`).
    public func send(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]?,
        value: [UInt8],
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) throws {
        try value.withUnsafeBytes { v in
            try withOptionalBytes(key) { k in
                try send(topic: topic, partition: partition, key: k, value: v, headers: headers, timestamp: timestamp)
            }
        }
    }

    /// ``send(topic:partition:key:value:headers:timestamp:)`` from borrowed bytes (e.g. slices of one
    /// reused buffer): librdkafka copies them, so the caller may reuse the memory once this returns.
    public func send(
        topic: String,
        partition: Int32? = nil,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) throws {
        if closed.withLock({ $0 }) { throw KafkaError.closed("producer") }
        var hdrs: OpaquePointer?
        if !headers.isEmpty {
            hdrs = rd_kafka_headers_new(headers.count)
            for h in headers {
                _ = h.value.withUnsafeBytes { rd_kafka_header_add(hdrs, h.key, -1, $0.baseAddress, $0.count) }
            }
        }
        var retries = Int(queueFullTimeout / .milliseconds(100))
        while true {
            guard
                let error = produce(
                    topic: topic,
                    partition: partition,
                    key: key,
                    value: value,
                    headers: hdrs,
                    timestamp: timestamp
                )
            else {
                break  // librdkafka now owns the headers
            }
            if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL, retries > 0 {
                rd_kafka_error_destroy(error)
                retries -= 1
                rd_kafka_poll(rk, 100)  // make room by serving delivery reports
                continue
            }
            if let hdrs { rd_kafka_headers_destroy(hdrs) }
            if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__FATAL, let fatal = handle.fatalError() {
                rd_kafka_error_destroy(error)
                throw fatal
            }
            throw KafkaError(consuming: error, "produce to \(topic)")
        }
        rd_kafka_poll(rk, 0)
    }

    private func produce(
        topic: String,
        partition: Int32?,
        key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer,
        headers: OpaquePointer?,
        timestamp: Int64?
    ) -> OpaquePointer? {
        topic.withCString { topicName in
            // On the stack: this runs once per produced record.
            withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { vus in
                var n = 0
                func append(_ set: (inout rd_kafka_vu_t) -> Void) {
                    var vu = rd_kafka_vu_t()
                    set(&vu)
                    vus[n] = vu
                    n += 1
                }
                append {
                    $0.vtype = RD_KAFKA_VTYPE_TOPIC
                    $0.u.cstr = topicName
                }
                // A non-NULL pointer keeps an empty value distinct from a null (tombstone) one.
                append {
                    $0.vtype = RD_KAFKA_VTYPE_VALUE
                    $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress) ?? Self.emptyPayload
                    $0.u.mem.size = value.count
                }
                if let key {
                    append {
                        $0.vtype = RD_KAFKA_VTYPE_KEY
                        $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress) ?? Self.emptyPayload
                        $0.u.mem.size = key.count
                    }
                }
                append {
                    $0.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    $0.u.i = RD_KAFKA_MSG_F_COPY
                }
                if let partition {
                    append {
                        $0.vtype = RD_KAFKA_VTYPE_PARTITION
                        $0.u.i32 = partition
                    }
                }
                if let timestamp {
                    append {
                        $0.vtype = RD_KAFKA_VTYPE_TIMESTAMP
                        $0.u.i64 = timestamp
                    }
                }
                if let headers {
                    append {
                        $0.vtype = RD_KAFKA_VTYPE_HEADERS
                        $0.u.headers = headers
                    }
                }
                return rd_kafka_produceva(rk, vus.baseAddress, n)
            }
        }
    }

    /// Serves delivery reports (and client callbacks), waiting at most `timeout` for the first.
    /// Returns the number of events served.
    @discardableResult
    public func poll(timeout: Duration = .zero) -> Int {
        Int(rd_kafka_poll(rk, timeout.rdMilliseconds))
    }

    /// Waits until every enqueued message is delivered or failed (serving reports meanwhile).
    /// - Throws: `.timedOut` if messages are still outstanding after `timeout`.
    public func flush(timeout: Duration) throws {
        if rd_kafka_flush(rk, timeout.rdMilliseconds) == RD_KAFKA_RESP_ERR__TIMED_OUT {
            throw KafkaError.timedOut("flush: \(outstandingCount) messages still outstanding")
        }
    }

    /// The producer's fatal error, if any (e.g. idempotence guarantees broken); the producer must be recreated.
    public func fatalError() -> KafkaError? { handle.fatalError() }

    /// Gives up on everything queued or in flight without waiting (librdkafka's path after a fatal
    /// error: purge, then destroy and create a new producer). Each purged message gets a failed delivery
    /// report (`_PURGE_QUEUE` / `_PURGE_INFLIGHT`), served here, so the caller learns what to re-send.
    /// Further sends are refused; `deinit` won't flush.
    public func abandon() {
        closed.withLock { $0 = true }
        _ = rd_kafka_purge(
            rk,
            Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING)
        )
        rd_kafka_poll(rk, 0)
    }

    /// Flushes, then refuses further sends. Idempotent.
    public func close(flushTimeout: Duration = .seconds(30)) throws {
        guard
            !closed.withLock({ c in
                defer { c = true }
                return c
            })
        else { return }
        try flush(timeout: flushTimeout)
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}

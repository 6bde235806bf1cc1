import CRDKafka
import Logging

/// Swift closures the C callbacks forward to. librdkafka gets an unretained pointer to this object
/// as its opaque; `RDKafkaHandle` keeps it alive until after `rd_kafka_destroy` returns, so no callback
/// can outlive it. `@unchecked Sendable`: all members are immutable and themselves Sendable.
final class RDKafkaCallbacks: @unchecked Sendable {
    typealias Rebalance = @Sendable (OpaquePointer, rd_kafka_resp_err_t, RDKafkaTopicPartitionList.Pointer) -> Void
    typealias Delivery = @Sendable (UnsafePointer<rd_kafka_message_t>) -> Void

    let logger: Logger
    /// Non-fatal client errors (broker down, auth failures); fatal ones are also read via `rd_kafka_fatal_error`.
    let onError: (@Sendable (KafkaError) -> Void)?
    let onRebalance: Rebalance?
    let onDelivery: Delivery?
    /// Client errors repeat every few hundred ms during an outage: a few lines per window, then a count.
    let errorLog = LockedBox(LogRateLimiter(burst: 10, intervalSeconds: 10))

    init(
        logger: Logger,
        onError: (@Sendable (KafkaError) -> Void)? = nil,
        onRebalance: Rebalance? = nil,
        onDelivery: Delivery? = nil
    ) {
        self.logger = logger
        self.onError = onError
        self.onRebalance = onRebalance
        self.onDelivery = onDelivery
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaCallbacks? {
        opaque.map { Unmanaged<RDKafkaCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// Owns one `rd_kafka_t` (producer or consumer) and the callbacks it calls.
/// `@unchecked Sendable`: librdkafka handles are thread-safe; the pointer is immutable and only
/// destroyed in `deinit`, when no other reference can exist.
final class RDKafkaHandle: @unchecked Sendable {
    let rk: OpaquePointer
    let callbacks: RDKafkaCallbacks
    let configuration: KafkaConfig

    init(_ type: rd_kafka_type_t, configuration: KafkaConfig, callbacks: RDKafkaCallbacks) throws {
        self.configuration = configuration
        self.callbacks = callbacks
        let conf = try RDKafkaConfig(configuration.properties)
        rd_kafka_conf_set_opaque(conf.pointer, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_log_cb(conf.pointer) { rk, level, facility, buf in
            guard let rk, let cb = RDKafkaCallbacks.from(rd_kafka_opaque(rk)) else { return }
            let text = "\(String(optionalCString: facility) ?? ""): \(String(optionalCString: buf) ?? "")"
            cb.logger.log(
                level: Logger.Level(syslog: level),
                "\(text)",
                metadata: ["rdkafka": "\(String(cString: rd_kafka_name(rk)))"]
            )
        }
        rd_kafka_conf_set_error_cb(conf.pointer) { rk, err, reason, opaque in
            guard let cb = RDKafkaCallbacks.from(opaque) else { return }
            let error = KafkaError(rd_kafka_resp_err_t(rawValue: err), String(optionalCString: reason))
            if error.isFatal {
                cb.logger.error("\(error)")
            } else if case .log(let suppressed) = cb.errorLog.withLock({ $0.admit() }) {
                cb.logger.warning("\(error)", metadata: ["suppressed_since_last": "\(suppressed)"])
            }
            cb.onError?(error)
        }
        if callbacks.onRebalance != nil {
            rd_kafka_conf_set_rebalance_cb(conf.pointer) { rk, err, partitions, opaque in
                guard let rk, let partitions, let cb = RDKafkaCallbacks.from(opaque) else { return }
                cb.onRebalance?(rk, err, partitions)
            }
        }
        if callbacks.onDelivery != nil {
            rd_kafka_conf_set_dr_msg_cb(conf.pointer) { _, message, opaque in
                guard let message, let cb = RDKafkaCallbacks.from(opaque) else { return }
                cb.onDelivery?(message)
            }
        }
        var errstr = ErrorString()
        guard let rk = rd_kafka_new(type, conf.pointer, &errstr.buffer, errstr.size) else {
            throw KafkaError.configuration(configuration.scrub(errstr.text))
        }
        conf.release()
        self.rk = rk
    }

    deinit { rd_kafka_destroy(rk) }

    var name: String { String(cString: rd_kafka_name(rk)) }

    /// The instance's fatal error, if one was raised (the handle is then unusable).
    func fatalError() -> KafkaError? {
        var errstr = ErrorString()
        let err = rd_kafka_fatal_error(rk, &errstr.buffer, errstr.size)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(code: .init(err), message: "fatal: \(errstr.text)", isRetriable: false, isFatal: true)
    }

    /// Topic → partition ids, for all topics the cluster reports (internal `__` topics excluded).
    func topics(timeout: Duration) throws -> [String: [Int32]] {
        var md: UnsafePointer<rd_kafka_metadata>?
        try KafkaError.check(rd_kafka_metadata(rk, 1, nil, &md, timeout.rdMilliseconds), "metadata")
        guard let md else { return [:] }
        defer { rd_kafka_metadata_destroy(md) }
        var result: [String: [Int32]] = [:]
        for t in UnsafeBufferPointer(start: md.pointee.topics, count: Int(md.pointee.topic_cnt)) {
            let name = String(cString: t.topic)
            guard !name.hasPrefix("__"), t.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART else { continue }
            result[name] = UnsafeBufferPointer(start: t.partitions, count: Int(t.partition_cnt)).map(\.id).sorted()
        }
        return result
    }

    func partitions(of topic: String, timeout: Duration) throws -> [TopicPartition] {
        guard let ids = try topics(timeout: timeout)[topic] else {
            throw KafkaError(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "metadata for \(topic)")
        }
        return ids.map { TopicPartition(topic, $0) }
    }

    func watermarkOffsets(_ tp: TopicPartition, timeout: Duration) throws -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        try KafkaError.check(
            rd_kafka_query_watermark_offsets(rk, tp.topic, tp.partition, &low, &high, timeout.rdMilliseconds),
            "watermark offsets of \(tp)"
        )
        return (low, high)
    }

    func offsetsForTimes(_ timestamps: [TopicPartition: Int64], timeout: Duration) throws -> [TopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(timestamps)
        try list.call("offsets for times") { rd_kafka_offsets_for_times(rk, $0, timeout.rdMilliseconds) }
        return list.entries.reduce(into: [:]) { $0[$1.topicPartition] = $1.offset }
    }
}

extension Logger.Level {
    /// librdkafka logs with syslog levels (0 emerg … 7 debug).
    init(syslog level: Int32) {
        switch level {
        case ...3: self = .error
        case 4: self = .warning
        case 5: self = .notice
        case 6: self = .info
        default: self = .debug
        }
    }
}

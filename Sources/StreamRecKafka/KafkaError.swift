package import CRDKafka

/// The one error type of StreamRecKafka. librdkafka failures keep their response code so callers can
/// decide between retrying (`isRetriable`), rebuilding the client (`isFatal`) and giving up.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// Where the failure came from.
    public enum Kind: Sendable, Hashable {
        /// librdkafka or the broker reported `code`.
        case rdKafka
        /// A configuration property was unknown or invalid (the message names the key, never the value).
        case configuration
        /// The client was already closed.
        case closed
        /// A bounded wait (flush, queue-full retry, metadata) ran out.
        case timedOut
        /// The caller passed something librdkafka cannot represent.
        case invalidArgument
    }

    /// A librdkafka response code (`rd_kafka_resp_err_t`): negative values are client-side, positive
    /// ones come from the broker. Unknown codes are kept as-is, so this is a struct, not an enum.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        init(_ err: rd_kafka_resp_err_t) { rawValue = err.rawValue }

        package var rd: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }
        /// librdkafka's symbolic name, e.g. `_TRANSPORT` or `TOPIC_ALREADY_EXISTS`.
        public var name: String { String(cString: rd_kafka_err2name(rd)) }
        public var description: String { "\(name) (\(rawValue))" }

        public static let noError = Code(RD_KAFKA_RESP_ERR_NO_ERROR)
        public static let fatal = Code(RD_KAFKA_RESP_ERR__FATAL)
        public static let transport = Code(RD_KAFKA_RESP_ERR__TRANSPORT)
        public static let allBrokersDown = Code(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        public static let timedOut = Code(RD_KAFKA_RESP_ERR__TIMED_OUT)
        public static let messageTimedOut = Code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        public static let queueFull = Code(RD_KAFKA_RESP_ERR__QUEUE_FULL)
        public static let partitionEOF = Code(RD_KAFKA_RESP_ERR__PARTITION_EOF)
        public static let unknownTopic = Code(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        public static let unknownTopicOrPartition = Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        public static let leaderNotAvailable = Code(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
        public static let notLeaderForPartition = Code(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION)
        public static let requestTimedOut = Code(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT)
        public static let topicAlreadyExists = Code(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        public static let fencedInstanceID = Code(RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID)
        public static let invalidArgument = Code(RD_KAFKA_RESP_ERR__INVALID_ARG)
        public static let messageSizeTooLarge = Code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    }

    public let kind: Kind
    /// The librdkafka code (`.noError` for wrapper-level kinds other than `.timedOut`).
    public let code: Code
    public let message: String
    /// Retrying the same operation later may succeed (broker down, leader moving, timeouts).
    public let isRetriable: Bool
    /// The client instance is unusable and must be recreated (librdkafka fatal error, fencing).
    public let isFatal: Bool

    public init(kind: Kind = .rdKafka, code: Code, message: String, isRetriable: Bool? = nil, isFatal: Bool? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.isRetriable = isRetriable ?? Self.retriableCodes.contains(code)
        self.isFatal = isFatal ?? Self.fatalCodes.contains(code)
    }

    public var description: String {
        switch kind {
        case .rdKafka: "KafkaError[\(code)]: \(message)"
        default: "KafkaError.\(kind): \(message)"
        }
    }

    /// Codes classified as transient when librdkafka gives no `rd_kafka_error_t` to ask.
    static let retriableCodes: Set<Code> = Set(
        [
            RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
            RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__RESOLVE,
            RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
            RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
        ].map(Code.init)
    )

    /// Codes after which the client cannot continue.
    static let fatalCodes: Set<Code> = Set(
        [
            RD_KAFKA_RESP_ERR__FATAL, RD_KAFKA_RESP_ERR__FENCED, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID,
            RD_KAFKA_RESP_ERR_PRODUCER_FENCED, RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
        ].map(Code.init)
    )
}

extension KafkaError {
    /// From a bare response code (classification by code).
    init(_ err: rd_kafka_resp_err_t, _ context: String? = nil) {
        let text = String(cString: rd_kafka_err2str(err))
        self.init(code: Code(err), message: context.map { "\($0): \(text)" } ?? text)
    }

    /// From an `rd_kafka_error_t` (destroyed here). librdkafka's own flags win when set; they are only
    /// set by some APIs (e.g. transactions, not produce's QUEUE_FULL), so the code classification is ORed in.
    init(consuming error: OpaquePointer, _ context: String? = nil) {
        defer { rd_kafka_error_destroy(error) }
        let code = Code(rd_kafka_error_code(error))
        let text = String(optionalCString: rd_kafka_error_string(error)) ?? ""
        self.init(
            code: code,
            message: context.map { "\($0): \(text)" } ?? text,
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || Self.retriableCodes.contains(code),
            isFatal: rd_kafka_error_is_fatal(error) != 0 || Self.fatalCodes.contains(code)
        )
    }

    /// Throws if `err` is not NO_ERROR.
    package static func check(_ err: rd_kafka_resp_err_t, _ context: @autoclosure () -> String) throws {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, context()) }
    }

    /// Throws (and destroys) a non-NULL `rd_kafka_error_t`.
    static func check(_ error: OpaquePointer?, _ context: @autoclosure () -> String) throws {
        if let error { throw KafkaError(consuming: error, context()) }
    }

    public static func configuration(_ message: String) -> KafkaError {
        KafkaError(kind: .configuration, code: .noError, message: message, isRetriable: false, isFatal: false)
    }

    public static func closed(_ what: String) -> KafkaError {
        KafkaError(kind: .closed, code: .noError, message: "\(what) is closed", isRetriable: false, isFatal: false)
    }

    public static func timedOut(_ message: String) -> KafkaError {
        KafkaError(kind: .timedOut, code: .timedOut, message: message, isRetriable: true, isFatal: false)
    }

    public static func invalidArgument(_ message: String) -> KafkaError {
        KafkaError(kind: .invalidArgument, code: .invalidArgument, message: message, isRetriable: false, isFatal: false)
    }
}

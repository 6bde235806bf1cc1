import CRDKafka

/// Owns an `rd_kafka_conf_t` until `rd_kafka_new` takes it over.
final class RDKafkaConfig {
    private(set) var pointer: OpaquePointer?

    /// Applies every property; a rejected one throws `.configuration` naming the key only, because
    /// librdkafka's message for an invalid value quotes the value (which may be a secret).
    init(_ properties: [String: String]) throws {
        pointer = rd_kafka_conf_new()
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            try set(key, value)
        }
    }

    deinit { if let pointer { rd_kafka_conf_destroy(pointer) } }

    func set(_ key: String, _ value: String) throws {
        var errstr = ErrorString()
        switch rd_kafka_conf_set(pointer, key, value, &errstr.buffer, errstr.size) {
        case RD_KAFKA_CONF_OK: return
        case RD_KAFKA_CONF_UNKNOWN: throw KafkaError.configuration("unknown configuration property \"\(key)\"")
        default: throw KafkaError.configuration("invalid value for configuration property \"\(key)\"")
        }
    }

    /// Hands the pointer to librdkafka (after a successful `rd_kafka_new`).
    func release() { pointer = nil }
}

import CRDKafka
public import StreamRecKafka

extension KafkaProducer {
    /// Raises a fatal error on this producer as librdkafka would after, e.g., an idempotence violation
    /// (`rd_kafka_test_fatal_error`, code 45 OUT_OF_ORDER_SEQUENCE_NUMBER by default).
    public func triggerFatalError(_ code: KafkaError.Code = KafkaError.Code(rawValue: 45), reason: String) {
        _ = rd_kafka_test_fatal_error(rk, code.rd, reason)
    }
}

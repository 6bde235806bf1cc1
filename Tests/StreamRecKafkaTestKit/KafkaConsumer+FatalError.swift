import CRDKafka
public import StreamRecKafka

extension KafkaConsumer {
    /// Raises a fatal error on this consumer as librdkafka would after, e.g., a fenced static member
    /// (`rd_kafka_test_fatal_error`, code 82 FENCED_INSTANCE_ID by default).
    public func triggerFatalError(_ code: KafkaError.Code = KafkaError.Code(rawValue: 82), reason: String) {
        _ = rd_kafka_test_fatal_error(rk, code.rd, reason)
    }
}

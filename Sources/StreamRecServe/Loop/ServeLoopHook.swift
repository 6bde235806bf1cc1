package import StreamRecKafka

/// Called by the serve loop once per pass, after delivery reports and before fatal-error recovery, with
/// the clients of the moment. Tests use it to raise client faults at a chosen event count; production
/// passes none, so a pass pays one nil check, outside the per-event path.
package protocol ServeLoopHook: Sendable {
    func afterDeliveries(eventsConsumed: Int64, producer: KafkaProducer, consumer: KafkaConsumer)
}

import StreamRecKafka
import StreamRecKafkaTestKit
import StreamRecServe
import Synchronization

/// Once this many events were consumed (≥ 0), raises a fatal error on the loop's producer or consumer
/// (once each). Counted in events, not time, so a test is independent of how its threads get scheduled.
final class FaultInjection: ServeLoopHook {
    let producerFatalErrorAt: Atomic<Int64>
    let consumerFatalErrorAt: Atomic<Int64>

    init(producerFatalErrorAt: Int64 = -1, consumerFatalErrorAt: Int64 = -1) {
        self.producerFatalErrorAt = Atomic(producerFatalErrorAt)
        self.consumerFatalErrorAt = Atomic(consumerFatalErrorAt)
    }

    func afterDeliveries(eventsConsumed: Int64, producer: KafkaProducer, consumer: KafkaConsumer) {
        let p = producerFatalErrorAt.load(ordering: .relaxed)
        if p >= 0, eventsConsumed >= p {
            producerFatalErrorAt.store(-1, ordering: .relaxed)
            producer.triggerFatalError(reason: "injected by a test")
        }
        let c = consumerFatalErrorAt.load(ordering: .relaxed)
        if c >= 0, eventsConsumed >= c {
            consumerFatalErrorAt.store(-1, ordering: .relaxed)
            consumer.triggerFatalError(reason: "injected by a test")
        }
    }
}

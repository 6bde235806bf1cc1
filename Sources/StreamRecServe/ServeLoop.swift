import Foundation
import Logging
import StreamRecCore
import StreamRecKafka
import Synchronization

/// The body of ``StreamingLearnerService``: one thread, one consumer, one producer.
final class ServeLoop: @unchecked Sendable {
    // @unchecked: confined to the learner thread, except the rebalance callbacks, which librdkafka
    // invokes from inside `poll` on this same thread.
    let service: StreamingLearnerService
    let stop: StopFlag
    var config: ServeConfig { service.configuration }
    var logger: Logger { service.logger }
    let store: SnapshotStore
    let decoder: EventDecoder
    let offsets = OffsetTracker([:])
    var producer: KafkaProducer!
    var consumer: KafkaConsumer!

    // Per-user refresh coalescing, indexed by user slot (no per-event dictionaries).
    var dirtyFlags: [Bool] = []
    var dirtySlots: [Int32] = []
    var lastEmitNanos: [UInt64] = []
    var lastSource: [(topic: Int32, partition: Int32, offset: Int64)] = []
    var topicIndex: [String: Int32] = [:]
    var topicNames: [String] = []

    // Scratch reused across batches.
    var selector: TopKSelector
    var ranked: [ScoredIndex] = []
    var outgoing: [(key: [UInt8], value: [UInt8])] = []
    /// Dead letters keep the source message's key, so they land in the same DLQ partition order per key
    /// and can be replayed to the source topic as they were.
    var deadLetters: [(key: [UInt8]?, record: DeadLetterRecord)] = []
    var deadLetterLog = LogRateLimiter(burst: 10, intervalSeconds: 10)

    // Test-then-train: online evaluation on a sample of live events (nil = off), then learning.
    var tracker: OnlineRecallTracker?
    let step: PrequentialStep
    var metrics: StreamRecMetrics { service.metrics }

    // Snapshot schedule and the background writer.
    struct CompletedSnapshot: Sendable {
        var snapshot: LearnerSnapshot
        var result: Result<String, SnapshotError>
        var started: UInt64
        var reason: String
        var events: Int64
    }
    let snapshotQueue = DispatchQueue(label: "streamrec.snapshot-writer")
    /// Where the writer leaves its result for the learner thread.
    final class Mailbox: Sendable {
        let slot = Mutex<CompletedSnapshot?>(nil)
    }
    let snapshotDone = Mailbox()
    var snapshotInFlight = false
    var eventsSinceSnapshot: Int64 = 0
    var lastSnapshotNanos: UInt64 = DispatchTime.now().uptimeNanoseconds
    var snapshotLoaded = false

    // Fault handling (ServeLoop+Faults.swift).
    let directoryLock: SnapshotDirectoryLock
    let faults = FaultState()
    var snapshotBackoffSeconds: Double = 0
    var nextSnapshotAttemptNanos: UInt64 = 0
    var lastDurableNanos: UInt64 = DispatchTime.now().uptimeNanoseconds
    var snapshotErrorLog = LogRateLimiter(burst: 3, intervalSeconds: 60)
    var kafkaErrorLog = LogRateLimiter(burst: 10, intervalSeconds: 10)
    var producerRecreatedAt: [UInt64] = []
    var consumerRecreatedAt: [UInt64] = []
    /// No snapshot was found at start-up: partitions without a snapshot offset are rebuilt from their
    /// earliest retained offset instead of the group's committed one (see ``checkMissingSnapshot()``).
    var startedWithoutSnapshot = false
    /// Dead letters whose delivery failed, sent again by ``send()``.
    var resendQueue: [(key: [UInt8]?, value: [UInt8])] = []

    init(service: StreamingLearnerService, stop: StopFlag) throws {
        self.service = service
        self.stop = stop
        store = try SnapshotStore(directory: service.configuration.snapshots.directory,
                                  retain: service.configuration.snapshots.retain)
        directoryLock = try SnapshotDirectoryLock(directory: store.directory)
        try SnapshotIdentity.claim(directory: store.directory, group: service.configuration.kafka.groupID,
                                   topics: service.configuration.kafka.eventTopics)
        decoder = EventDecoder(limits: service.configuration.limits)
        selector = TopKSelector(k: service.configuration.k)
        let every = service.configuration.onlineEvaluationEvery
        tracker = every > 0 ? OnlineRecallTracker(k: service.configuration.k, windowSize: 1000, sampling: .everyNth(every)) : nil
        step = PrequentialStep(weights: service.configuration.weights)
    }

    func run() throws {
        try restoreSnapshot()
        // A restored index is kept (it is snapshot state); otherwise built now if the catalog is large enough.
        let ranking = config.ranking
        service.learner.update { $0.setRanking($0.config.ranker == .mf ? ranking : .exact) }
        if config.kafka.createTopics { createTopics() }
        producer = try makeProducer()
        consumer = try makeConsumer()
        if startedWithoutSnapshot { try checkMissingSnapshot() }
        try consumer.subscribe(topics: config.kafka.eventTopics)
        service.status.update { $0.started = true }
        logger.info("memory bound: \(MemoryBound(config.model).description)", metadata: [
            "max_users": "\(config.model.maxUsers)", "max_items": "\(config.model.maxItems)",
            "max_seen_per_user": "\(config.model.maxSeenPerUser)"])
        logger.info("serving", metadata: [
            "topics": "\(config.kafka.eventTopics.joined(separator: ","))",
            "recommendations": "\(config.kafka.recommendationsTopic)", "group": "\(config.kafka.groupID)",
            "kafka": "\(config.consumerKafkaConfig)",
        ])

        do {
            try loop()
        } catch {
            // Fatal (e.g. the idempotent producer lost its guarantees): keep what is durable, leave the
            // group so partitions move on, and let the supervisor restart us from the last snapshot.
            logger.critical("stopping on fatal error: \(error)")
            service.watchdog.arm(reason: "fatal error")
            waitForSnapshot()
            try? consumer.close()
            throw error
        }
        service.watchdog.arm(reason: "learner loop ended")
        try shutdown()
    }

    func loop() throws {
        var lastMessageNanos = DispatchTime.now().uptimeNanoseconds
        var lastSampleNanos = lastMessageNanos
        var eventsAtLastSample = service.status.current.eventsConsumed
        var lastLagQueryNanos: UInt64 = 0
        while !stop.isSet {
            let batch: [KafkaMessage]
            do {
                batch = try consumer.poll(maxMessages: config.batchSize, timeout: .milliseconds(100))
            } catch let error as KafkaError where !error.isFatal {
                // e.g. a failed rebalance step: librdkafka recovers on its own; don't spin on it.
                logger.error("poll failed, retrying", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 1)
                continue
            } catch let error as KafkaError {
                try recreateConsumer(after: error)
                continue
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if !batch.isEmpty {
                lastMessageNanos = now
                process(batch)
            }
            flushRefreshes(now: now, force: false)
            try send()
            producer.poll()
            let injectAt = service.injectProducerFatalErrorAt.load(ordering: .relaxed)
            if injectAt >= 0, service.status.current.eventsConsumed >= injectAt {
                service.injectProducerFatalErrorAt.store(-1, ordering: .relaxed)
                producer.triggerFatalErrorForTesting(reason: "injected by a test")
            }
            if let fatal = producer.fatalError() { try recreateProducer(after: fatal) }
            let injectConsumerAt = service.injectConsumerFatalErrorAt.load(ordering: .relaxed)
            if injectConsumerAt >= 0, service.status.current.eventsConsumed >= injectConsumerAt {
                service.injectConsumerFatalErrorAt.store(-1, ordering: .relaxed)
                consumer.triggerFatalErrorForTesting(reason: "injected by a test")
            }
            requeueFailedDeliveries()
            collectSnapshot()
            updateSnapshotHealth(now: now)
            if snapshotDue(now: now) { snapshot(reason: "interval") }
            // Lag every 5 s; every 0.5 s while a newly assigned partition's watermark is still unknown
            // (readiness waits for it).
            let unknownWatermark = service.status.current.partitions.contains { $0.highWatermark == nil }
            if now - lastLagQueryNanos > (unknownWatermark ? 500_000_000 : 5_000_000_000) {
                lastLagQueryNanos = now
                refreshLag()
            }
            if now - lastSampleNanos >= 1_000_000_000 {
                let consumed = service.status.current.eventsConsumed
                let rate = Double(consumed - eventsAtLastSample) / (Double(now - lastSampleNanos) / 1e9)
                service.status.record(.init(t: Int64(Date().timeIntervalSince1970 * 1000), eventsPerSecond: rate,
                                            lag: service.status.current.totalLag, onlineRecall: tracker?.recall))
                eventsAtLastSample = consumed
                lastSampleNanos = now
            }
            if config.exitWhenIdleMillis > 0, now - lastMessageNanos > UInt64(config.exitWhenIdleMillis) * 1_000_000 {
                logger.info("idle for \(config.exitWhenIdleMillis) ms: stopping")
                break
            }
        }
    }

    // MARK: Start-up

    func restoreSnapshot() throws {
        do {
            if let loaded = try store.loadNewestGood(expectedConfig: config.model) {
                for bad in loaded.rejected {
                    logger.error("snapshot rejected, falling back to an older one", metadata: ["path": "\(bad.path)", "reason": "\(bad.error)"])
                }
                try SnapshotIdentity.verify(loaded.snapshot.position, topics: config.kafka.eventTopics, path: loaded.path)
                service.learner.replace(with: loaded.snapshot.learner)
                for o in loaded.snapshot.position.offsets { offsets.set(TopicPartition(o.topic, o.partition), o.offset) }
                snapshotLoaded = true
                logger.info("snapshot loaded", metadata: [
                    "path": "\(loaded.path)", "events": "\(loaded.snapshot.learner.counters.events)",
                    "offsets": "\(loaded.snapshot.position.offsets.map { "\($0.topic)[\($0.partition)]@\($0.offset)" }.joined(separator: ","))",
                ])
                service.status.update {
                    $0.snapshotLoaded = true
                    $0.loadedFrom = loaded.path
                    $0.eventsLearned = loaded.snapshot.learner.counters.events
                }
            } else {
                logger.info("no snapshot found: starting a fresh model", metadata: ["directory": "\(store.directory)"])
                startedWithoutSnapshot = true
                service.status.update { $0.snapshotLoaded = true; $0.loadedFrom = nil }
            }
        } catch {
            // Only a config mismatch or "every snapshot is corrupt" gets here: refusing to start is
            // safer than silently discarding a trained model.
            logger.critical("cannot restore snapshot: \(error)")
            service.status.update { $0.snapshotLoaded = false }
            throw error
        }
    }

    func createTopics() {
        do {
            let admin = try KafkaAdmin(configuration: config.adminKafkaConfig, logger: logger)
            var topics = config.kafka.eventTopics.map { KafkaAdmin.NewTopic($0, partitions: config.kafka.topicPartitions) }
            topics.append(.init(config.kafka.recommendationsTopic, partitions: config.kafka.topicPartitions,
                                config: ["cleanup.policy": "compact"]))
            topics.append(.init(config.kafka.deadLetterTopic, partitions: 1))
            try admin.createTopics(topics)
        } catch {
            logger.warning("could not create topics (continuing; they may already exist): \(error)")
        }
    }

    // MARK: Rebalance (runs inside poll, on this thread)

    func assigned(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        var start: [TopicPartition: Int64] = [:]
        for tp in partitions {
            if let next = offsets.get(tp) {
                start[tp] = next
            } else if startedWithoutSnapshot {
                start[tp] = KafkaOffset.beginning  // a fresh model learns the whole retained log, not its tail
            }
        }
        logger.info("partitions assigned", metadata: [
            "partitions": "\(partitions.map(\.description).joined(separator: ","))",
            "from_snapshot": "\(start.map { "\($0.key)@\($0.value)" }.sorted().joined(separator: ","))",
        ])
        service.status.update { s in
            for tp in partitions where !s.partitions.contains(where: { $0.topic == tp.topic && $0.partition == tp.partition }) {
                s.partitions.append(.init(topic: tp.topic, partition: tp.partition, position: start[tp] ?? 0))
            }
        }
        return start
    }

    func revoked(_ partitions: [TopicPartition], lost: Bool) {
        logger.info("partitions revoked", metadata: ["partitions": "\(partitions.map(\.description).joined(separator: ","))", "lost": "\(lost)"])
        // Hand over cleanly: what we learned from these partitions becomes durable and committed, so
        // the next owner starts where we stopped. Lost partitions already belong to someone else.
        if lost {
            waitForSnapshot()
        } else if eventsSinceSnapshot > 0 || snapshotInFlight {
            snapshot(reason: "rebalance", wait: true)
        }
        service.status.update { s in
            s.partitions.removeAll { p in partitions.contains { $0.topic == p.topic && $0.partition == p.partition } }
        }
    }

    func consumerEvent(_ event: KafkaConsumer.Event) {
        if case .error(let error) = event {
            let down = error.code == .allBrokersDown || error.code == .transport
            if down { service.status.update { $0.brokerConnected = false } }
            if case .log(let suppressed) = kafkaErrorLog.admit() {
                logger.warning("kafka: \(error)", metadata: ["retriable": "\(error.isRetriable)", "suppressed_since_last": "\(suppressed)"])
            }
        }
    }

    // MARK: Events

    func process(_ batch: [KafkaMessage]) {
        var learned = 0
        var ordinal = 0
        let wallClock = Int64(Date().timeIntervalSince1970 * 1000)
        service.learner.update { learner in
            for message in batch {
                let tp = message.topicPartition
                offsets.set(tp, message.offset + 1)
                var event: Event
                do {
                    event = try decoder.decode(message.value)  // also enforces the message size cap
                } catch {
                    deadLetter(message, reason: "\(error)")
                    continue
                }
                switch config.eventTime.check(event.timestamp, wallClockMillis: wallClock) {
                case .success(let ms): event.timestamp = ms
                case .failure(let rejection):
                    deadLetter(message, reason: "\(rejection)")
                    continue
                }
                // One update in 16 is timed: enough for the latency histogram, negligible overhead.
                ordinal += 1
                let outcome = step.apply(event, to: &learner, observer: &tracker, timed: ordinal & 15 == 0)
                if let duration = outcome.learnDuration { metrics.recordSGDUpdate(duration) }
                switch outcome.result {
                case .success(let interaction):
                    markDirty(interaction.userSlot, topic: message.topic, partition: message.partition, offset: message.offset)
                    learned += 1
                case .failure(let error):
                    // The step was rolled back; the event still moved the store. Worth a loud line.
                    logger.error("non-finite SGD step rolled back", metadata: ["offset": "\(message.topic)[\(message.partition)]@\(message.offset)", "error": "\(error)"])
                    markDirty(learner.users.index(of: event.user) ?? 0, topic: message.topic, partition: message.partition, offset: message.offset)
                }
            }
        }
        eventsSinceSnapshot += Int64(batch.count)
        var perTopic: [String: Int] = [:]
        for m in batch { perTopic[m.topic, default: 0] += 1 }
        for (topic, n) in perTopic { metrics.recordConsumed(topic: topic, count: n) }
        if learned > 0 { metrics.recordLearned(topic: batch[0].topic, count: learned) }
        if let tracker { metrics.record(onlineRecall: tracker) }
        let positions = offsets.all
        let recall = tracker?.recall
        // brokerConnected is not set here: a busy learner keeps draining prefetched messages during an
        // outage. Watermark queries (refreshLag) and client errors decide it.
        service.status.update { s in
            s.eventsConsumed += Int64(batch.count)
            s.eventsLearned += Int64(learned)
            s.onlineRecall = recall
            for i in s.partitions.indices {
                if let p = positions[TopicPartition(s.partitions[i].topic, s.partitions[i].partition)] { s.partitions[i].position = p }
            }
        }
    }

    func deadLetter(_ message: KafkaMessage, reason: String) {
        deadLetters.append((message.key, DeadLetterRecord(
            reason: reason, sourceTopic: message.topic, sourcePartition: message.partition, sourceOffset: message.offset,
            timestamp: message.timestamp ?? Int64(Date().timeIntervalSince1970 * 1000), payload: message.value)))
        if case .log(let suppressed) = deadLetterLog.admit() {
            logger.warning("dead-lettered message", metadata: [
                "source": "\(message.topic)[\(message.partition)]@\(message.offset)", "bytes": "\(message.value.count)", "reason": "\(reason)",
                "suppressed_since_last": "\(suppressed)",
            ])
        }
        metrics.recordDeadLettered(topic: message.topic)
        service.status.update { $0.deadLettered += 1 }
    }

    func markDirty(_ slot: Int32, topic: String, partition: Int32, offset: Int64) {
        let s = Int(slot)
        if s >= dirtyFlags.count {
            let add = s + 1 - dirtyFlags.count
            dirtyFlags.append(contentsOf: repeatElement(false, count: add))
            lastEmitNanos.append(contentsOf: repeatElement(0, count: add))
            lastSource.append(contentsOf: repeatElement((topic: Int32(0), partition: Int32(0), offset: Int64(0)), count: add))
        }
        let t: Int32
        if let known = topicIndex[topic] { t = known } else {
            t = Int32(topicNames.count)
            topicIndex[topic] = t
            topicNames.append(topic)
        }
        lastSource[s] = (t, partition, offset)
        if !dirtyFlags[s] {
            dirtyFlags[s] = true
            dirtySlots.append(slot)
        }
    }

    /// Ranks and queues lists for dirty users whose refresh interval has passed.
    func flushRefreshes(now: UInt64, force: Bool) {
        guard !dirtySlots.isEmpty else { return }
        let interval = UInt64(max(0, config.minRefreshIntervalMillis)) * 1_000_000
        let k = config.k
        let wallClock = Int64(Date().timeIntervalSince1970 * 1000)
        var kept: [Int32] = []
        service.learner.read { learner in
            let version = learner.modelVersion
            for slot in dirtySlots {
                let s = Int(slot)
                if !force && interval > 0 && now &- lastEmitNanos[s] < interval {
                    kept.append(slot)  // coalesced: emitted later with the then-latest state
                    continue
                }
                dirtyFlags[s] = false
                lastEmitNanos[s] = now
                guard let user = learner.users.id(at: slot) else { continue }
                let rankStarted = ContinuousClock.now
                learner.recommend(userSlot: slot, k: k, selector: &selector, into: &ranked)
                metrics.recordTopK(ContinuousClock.now - rankStarted, source: .stream)
                let source = lastSource[s]
                let list = learner.recommendationList(
                    user: user, userSlot: slot, ranked: ranked, propensitiesFrom: selector, timestamp: wallClock,
                    sourceOffset: SourceOffset(topic: topicNames[Int(source.topic)], partition: source.partition, offset: source.offset),
                    modelVersion: version)
                outgoing.append((Array(user.utf8), list.jsonBytes()))
            }
        }
        dirtySlots = kept
    }

    /// Enqueues produced lists and dead letters. A full queue (broker down) blocks here with retries:
    /// backpressure instead of unbounded memory.
    func send() throws {
        var produced = 0
        for (key, value) in outgoing {
            try sendRetrying(topic: config.kafka.recommendationsTopic, key: key, value: value)
            produced += 1
        }
        outgoing.removeAll(keepingCapacity: true)
        for (key, record) in deadLetters {
            try sendRetrying(topic: config.kafka.deadLetterTopic, key: key, value: record.jsonBytes())
        }
        deadLetters.removeAll(keepingCapacity: true)
        for (key, value) in resendQueue {
            try sendRetrying(topic: config.kafka.deadLetterTopic, key: key, value: value)
        }
        resendQueue.removeAll()
        if produced > 0 {
            metrics.recordRecommendationsProduced(count: produced)
            service.status.update { $0.recommendationsProduced += Int64(produced) }
        }
    }

    func sendRetrying(topic: String, key: [UInt8]?, value: [UInt8]) throws {
        var backoff = 0.1
        while true {
            do {
                try producer.send(topic: topic, key: key, value: value)
                return
            } catch let error as KafkaError where error.isFatal {
                try recreateProducer(after: error)  // then retry on the new producer
            } catch let error as KafkaError where error.isRetriable {
                if stop.isSet && backoff > 5 { throw error }
                if case .log(let suppressed) = kafkaErrorLog.admit() {
                    logger.warning("produce failed, retrying", metadata: [
                        "topic": "\(topic)", "error": "\(error)", "backoff_s": "\(backoff)", "suppressed_since_last": "\(suppressed)"])
                }
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
            }
        }
    }

    // MARK: Snapshots

    func snapshotDue(now: UInt64) -> Bool {
        guard eventsSinceSnapshot > 0, now >= nextSnapshotAttemptNanos else { return false }
        if config.snapshots.everyEvents > 0 && eventsSinceSnapshot >= config.snapshots.everyEvents { return true }
        return config.snapshots.everySeconds > 0 && Double(now - lastSnapshotNanos) / 1e9 >= config.snapshots.everySeconds
    }

    /// Takes a snapshot: flushes queued output (so nothing derived from events before the snapshot can
    /// be lost), captures the learner (an O(1) copy-on-write copy) and the offsets, then encodes and
    /// writes it durably — on the snapshot queue for interval snapshots, so the learner keeps learning
    /// meanwhile (it pays one copy of the arrays it touches next instead of the whole encode + fsync),
    /// or inline when `wait` is set (shutdown, rebalance). Offsets are committed only once the file is
    /// durable, by ``collectSnapshot()`` on this thread.
    @discardableResult
    func snapshot(reason: String, wait: Bool = false) -> Bool {
        if wait { waitForSnapshot() } else if snapshotInFlight { return false }
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            try send()
            // Interval snapshots wait briefly: during an outage the loop must stay responsive (status,
            // lag, stop requests); the snapshot is retried on the next iteration.
            try producer.flush(timeout: wait ? .seconds(30) : .seconds(5))
            if let fatal = producer.fatalError() { try recreateProducer(after: fatal) }
        } catch {
            if case .log(let suppressed) = kafkaErrorLog.admit() {
                logger.warning("snapshot postponed: producer flush failed", metadata: ["error": "\(error)", "suppressed_since_last": "\(suppressed)"])
            }
            return false
        }
        // Lists or dead letters that failed delivery are re-sent before the snapshot may commit past them.
        if requeueFailedDeliveries() > 0 { return false }
        let position = offsets.position
        let snap = service.learner.read { LearnerSnapshot(learner: $0, position: position, createdAt: Int64(Date().timeIntervalSince1970 * 1000)) }
        let pendingEvents = eventsSinceSnapshot
        eventsSinceSnapshot = 0
        lastSnapshotNanos = started
        snapshotInFlight = true
        let store = self.store, done = snapshotDone
        let write: @Sendable () -> Void = {
            let result = Result { () throws(SnapshotError) -> String in try store.write(snap) }
            done.slot.withLock { $0 = CompletedSnapshot(snapshot: snap, result: result, started: started, reason: reason, events: pendingEvents) }
        }
        if wait {
            write()
            return collectSnapshot()
        }
        snapshotQueue.async(execute: write)
        return true
    }

    /// Finishes a snapshot whose write completed: commit its offsets, publish status, log. Returns
    /// whether it was written.
    @discardableResult
    func collectSnapshot() -> Bool {
        guard let completed = snapshotDone.slot.withLock({ c in defer { c = nil }; return c }) else { return false }
        snapshotInFlight = false
        let snap = completed.snapshot
        let path: String
        do {
            path = try completed.result.get()
        } catch {
            eventsSinceSnapshot += completed.events
            snapshotFailed(error)
            return false
        }
        snapshotSucceeded()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - completed.started) / 1e9
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let state = ServeStatus.SnapshotState(path: path, writtenAt: snap.createdAt, durationSeconds: seconds, bytes: bytes,
                                              events: snap.learner.counters.events)
        service.status.update { $0.lastSnapshot = state }
        metrics.recordSnapshotWritten(bytes: bytes, duration: .nanoseconds(Int64(seconds * 1e9)))
        let commit = Dictionary(uniqueKeysWithValues: snap.position.offsets.map { (TopicPartition($0.topic, $0.partition), $0.offset) })
        do {
            try consumer.commit(commit)
        } catch {
            // Harmless: restarts seek to the snapshot's offsets; the group offset only matters to others.
            logger.warning("offset commit failed (snapshot is durable)", metadata: ["error": "\(error)"])
        }
        logger.info("snapshot written", metadata: [
            "reason": "\(completed.reason)", "path": "\(path)", "bytes": "\(bytes)",
            "seconds": "\(String(format: "%.3f", seconds))", "events": "\(snap.learner.counters.events)",
        ])
        return true
    }

    /// Blocks until an in-flight snapshot write finished and collects it.
    func waitForSnapshot() {
        guard snapshotInFlight else { return }
        snapshotQueue.sync {}
        collectSnapshot()
    }

    func refreshLag() {
        let partitions = service.status.current.partitions
        var updated: [ServeStatus.PartitionState] = []
        var reached = false
        for var p in partitions {
            if let high = try? consumer.watermarkOffsets(topic: p.topic, partition: p.partition, timeout: .seconds(1)).high {
                p.highWatermark = high
                reached = true
                if let lag = p.lag { metrics.setLag(topic: p.topic, partition: p.partition, lag: lag) }
            }
            updated.append(p)
        }
        if !partitions.isEmpty { noteBroker(reachable: reached) }
        service.status.update { s in
            for p in updated {
                if let i = s.partitions.firstIndex(where: { $0.topic == p.topic && $0.partition == p.partition }) {
                    s.partitions[i].highWatermark = p.highWatermark
                }
            }
        }
    }

    // MARK: Shutdown

    /// Final snapshot, commit, leave the group. Throws (→ non-zero exit) when the final snapshot could
    /// not be made durable: the events since the last durable one will be re-read on restart, but an
    /// operator must know the disk or broker failed.
    func shutdown() throws {
        logger.info("stopping: final snapshot, commit, leave group")
        flushRefreshes(now: DispatchTime.now().uptimeNanoseconds, force: true)
        waitForSnapshot()
        var finalSnapshotFailed = false
        if eventsSinceSnapshot > 0 {
            nextSnapshotAttemptNanos = 0
            finalSnapshotFailed = !snapshot(reason: "shutdown", wait: true)
        }
        do { try consumer.close() } catch { logger.warning("consumer close: \(error)") }
        do { try producer.close(flushTimeout: .seconds(30)) } catch { logger.warning("producer close: \(error)") }
        if finalSnapshotFailed {
            let reason = service.status.current.lastSnapshotError ?? "producer flush failed"
            logger.critical("stopped WITHOUT a final snapshot: \(eventsSinceSnapshot) events since the last durable snapshot will be re-read on restart", metadata: ["error": "\(reason)"])
            throw ShutdownError(description: "final snapshot failed: \(reason)")
        }
        logger.info("stopped")
    }
}

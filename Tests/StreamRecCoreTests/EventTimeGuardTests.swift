import StreamRecCore
import Testing

@Suite("event-time guard")
struct EventTimeGuardTests {
    let now: Int64 = 1_764_000_000_000  // 2025-11-24 in ms

    @Test("year-9999 and far-future timestamps are rejected; small skews and the past pass")
    func future() {
        let g = EventTimeGuard(maxFutureSkewMillis: 3_600_000)
        #expect(
            g.check(EventLimits.maxTimestamp, wallClockMillis: now)
                == .failure(
                    .inTheFuture(
                        EventLimits.maxTimestamp,
                        aheadMillis: EventLimits.maxTimestamp - now,
                        maxSkewMillis: 3_600_000
                    )
                )
        )
        #expect(g.check(now + 3_600_001, wallClockMillis: now).isFailure)
        #expect(g.check(now + 60_000, wallClockMillis: now) == .success(now + 60_000))
        #expect(g.check(893_286_638_000, wallClockMillis: now) == .success(893_286_638_000))  // MovieLens 1998
        #expect(g.check(0, wallClockMillis: now) == .success(0))
        #expect(
            EventTimeGuard(maxFutureSkewMillis: 0).check(EventLimits.maxTimestamp, wallClockMillis: now).isFailure
                == false
        )
    }

    @Test("second-resolution timestamps are detected in milliseconds mode and converted in seconds mode")
    func seconds() {
        let ms = EventTimeGuard()
        #expect(ms.check(1_700_000_000, wallClockMillis: now) == .failure(.looksLikeSeconds(1_700_000_000)))
        #expect("\(EventTimeGuard.Rejection.looksLikeSeconds(1))".contains("timestamp_unit"))
        let s = EventTimeGuard(unit: .seconds)
        #expect(s.check(1_700_000_000, wallClockMillis: now) == .success(1_700_000_000_000))
        #expect(s.check(Int64.max / 10, wallClockMillis: now).isFailure)
    }

    @Test("with TTL on, a rejected future event leaves every user and item in place")
    func ttlSurvives() throws {
        var config = ModelConfig()
        config.userTTL = 86_400_000
        config.itemTTL = 86_400_000
        var learner = try OnlineLearner(config: config)
        let guardrail = EventTimeGuard()
        let events = (0..<200).map {
            Event(user: "u\($0 % 20)", item: "i\($0 % 30)", timestamp: now - 10_000 + Int64($0))
        }
        let attack = Event(user: "mallory", item: "i0", timestamp: EventLimits.maxTimestamp)
        for e in events + [attack] + events {
            guard case .success(let ts) = guardrail.check(e.timestamp, wallClockMillis: now) else { continue }
            _ = try? learner.learn(user: e.user, item: e.item, timestamp: ts, weight: 1)
        }
        #expect(learner.counters.userExpirations == 0 && learner.counters.itemExpirations == 0)
        #expect(learner.users.count == 20 && learner.items.count == 30)
    }

    @Test("a log in seconds is detected, and converted with the seconds unit")
    func logInSeconds() throws {
        let seconds = (0..<10).map { Event(user: "u", item: "i\($0)", timestamp: 1_700_000_000 + Int64($0)) }
        let millis = seconds.map { Event(user: $0.user, item: $0.item, timestamp: $0.timestamp * 1000) }
        #expect(EventTimeGuard.secondsLookingShare(seconds) == 1)
        #expect(EventTimeGuard.secondsLookingShare(millis) == 0)
        #expect(try EventTimeGuard.convertingSecondsToMillis(seconds) == millis)
        #expect(throws: EventTimeGuard.Rejection.self) {
            try EventTimeGuard.convertingSecondsToMillis([Event(user: "u", item: "i", timestamp: .max / 10)])
        }
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { true } else { false } }
}

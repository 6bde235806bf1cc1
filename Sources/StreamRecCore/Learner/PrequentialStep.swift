/// What looks at an event with the model as it stood *before* learning it: the "test" of
/// test-then-train. ``OnlineRecallTracker`` (serve, http-demo) and the replay's scorer conform.
public protocol PrequentialObserver {
    /// Called once per event, before ``PrequentialStep`` lets the learner learn it.
    mutating func observe(_ event: Event, learner: OnlineLearner)
}

/// An absent observer (e.g. online evaluation turned off) observes nothing.
extension Optional: PrequentialObserver where Wrapped: PrequentialObserver {
    @inlinable public mutating func observe(_ event: Event, learner: OnlineLearner) {
        self?.observe(event, learner: learner)
    }
}

/// One test-then-train step: the observer sees the model before the event, then the learner learns it
/// with the event's effective weight. `replay`, `serve` and `http-demo` (warm-up and feeder) all learn
/// events through it, so offline and online metrics follow the same protocol by construction.
public struct PrequentialStep: Sendable {
    /// Turns an event's type/weight into the weight the learner uses.
    public var weights: EventWeights

    public init(weights: EventWeights = EventWeights()) {
        self.weights = weights
    }

    /// What one step did.
    public struct Outcome: Sendable {
        /// The learner's interaction, or the error of a diverging SGD step (rolled back by the learner;
        /// the event still moved the user store and counts).
        public var result: Result<OnlineLearner.Interaction, NonFiniteModelError>
        /// Time spent in `learn` when the step was `timed` (the SGD latency histogram samples this).
        public var learnDuration: Duration?

        @inlinable public init(result: Result<OnlineLearner.Interaction, NonFiniteModelError>, learnDuration: Duration?)
        {
            self.result = result
            self.learnDuration = learnDuration
        }
    }

    /// Lets `observer` test the model on `event`, then learns it. `timed` measures the learn part only.
    @inlinable @discardableResult
    public func apply<Observer: PrequentialObserver>(
        _ event: Event,
        to learner: inout OnlineLearner,
        observer: inout Observer,
        timed: Bool = false
    ) -> Outcome {
        observer.observe(event, learner: learner)
        return learn(event, into: &learner, timed: timed)
    }

    /// Learns `event` without a test (warm-up).
    @inlinable @discardableResult
    public func apply(_ event: Event, to learner: inout OnlineLearner, timed: Bool = false) -> Outcome {
        learn(event, into: &learner, timed: timed)
    }

    @inlinable internal func learn(_ event: Event, into learner: inout OnlineLearner, timed: Bool) -> Outcome {
        let weight = weights.effectiveWeight(event)
        let started = timed ? ContinuousClock.now : nil
        let result: Result<OnlineLearner.Interaction, NonFiniteModelError>
        do {
            result = .success(
                try learner.learn(user: event.user, item: event.item, timestamp: event.timestamp, weight: weight)
            )
        } catch {
            result = .failure(error)
        }
        return Outcome(result: result, learnDuration: started.map { ContinuousClock.now - $0 })
    }
}

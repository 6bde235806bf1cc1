/// How strongly each interaction counts as positive feedback for the implicit-feedback model.
///
/// Rule (first match wins): the event's explicit `weight` if present (a rating, or a producer-side
/// weight); else the weight of its `type` in ``byType``; else ``defaultWeight``. ``source`` then decides
/// what a *rating* means: by default (``WeightSource/auto``) a rated event counts as one interaction,
/// because multiplying every SGD step by a 1–5 star rating overshoots (MovieLens `u.data` fell to
/// popularity level that way: docs/quality.md).
public struct EventWeights: Sendable, Hashable {
    /// What a rated event's weight is.
    public enum WeightSource: String, Sendable, CaseIterable, Codable {
        /// Rated events (type `rating`) count 1; other events keep their explicit or per-type weight.
        case auto
        /// The explicit weight as-is, ratings included (the step is scaled by the rating).
        case rating
        /// Every event with a positive weight counts 1.
        case one
    }

    public var byType: [String: Float]
    /// Used for events without a weight whose type is missing or unknown.
    public var defaultWeight: Float
    /// Largest effect an event's own `weight` can have: larger explicit weights count as this much.
    /// One schema-valid event with `weight: 1000` would otherwise move an item's factors and popularity
    /// as much as 1000 ordinary events (poisoning every user's list). 10 keeps 5- and 10-point rating
    /// scales and the default type weights (≤ 5) unchanged. Type weights come from the operator's
    /// config and are not capped.
    public var maxExplicitWeight: Float
    public var source: WeightSource

    /// view 1, click 2, add_to_cart 3, purchase 5.
    public static let defaultTypeWeights: [String: Float] = ["view": 1, "click": 2, "add_to_cart": 3, "purchase": 5]

    public static let defaultMaxExplicitWeight: Float = 10

    public init(
        byType: [String: Float] = EventWeights.defaultTypeWeights,
        defaultWeight: Float = 1,
        maxExplicitWeight: Float = EventWeights.defaultMaxExplicitWeight,
        source: WeightSource = .auto
    ) {
        self.byType = byType
        self.defaultWeight = defaultWeight
        self.maxExplicitWeight = maxExplicitWeight
        self.source = source
    }

    public func effectiveWeight(_ event: Event) -> Float {
        let raw: Float
        if let weight = event.weight {
            raw = min(weight, maxExplicitWeight)
        } else if let type = event.type, let weight = byType[type] {
            raw = weight
        } else {
            raw = defaultWeight
        }
        switch source {
        case .rating: return raw
        case .one: return raw > 0 ? 1 : raw
        case .auto: return event.type == "rating" && event.weight != nil && raw > 0 ? 1 : raw
        }
    }
}

extension Event {
    /// Drops rated events (type `rating` with a weight) whose rating is below `minRating`, e.g. 4 to keep
    /// only liked movies; events without a rating are kept.
    public static func keepingRatings(atLeast minRating: Float, in events: [Event]) -> [Event] {
        events.filter { $0.type != "rating" || ($0.weight ?? minRating) >= minRating }
    }
}

/// How strongly each interaction counts as positive feedback for the implicit-feedback model.
///
/// Rule (first match wins): the event's explicit `weight` if present (a rating, or a producer-side
/// weight); else the weight of its `type` in ``byType``; else ``defaultWeight``. "rating" is deliberately
/// absent from the default table: rating events carry their rating as `weight`.
public struct EventWeights: Sendable, Hashable {
    public var byType: [String: Float]
    /// Used for events without a weight whose type is missing or unknown.
    public var defaultWeight: Float
    /// Largest effect an event's own `weight` can have: larger explicit weights count as this much.
    /// One schema-valid event with `weight: 1000` would otherwise move an item's factors and popularity
    /// as much as 1000 ordinary events (poisoning every user's list). 10 keeps 5- and 10-point rating
    /// scales and the default type weights (≤ 5) unchanged. Type weights come from the operator's
    /// config and are not capped.
    public var maxExplicitWeight: Float

    /// view 1, click 2, add_to_cart 3, purchase 5.
    public static let defaultTypeWeights: [String: Float] = ["view": 1, "click": 2, "add_to_cart": 3, "purchase": 5]

    public static let defaultMaxExplicitWeight: Float = 10

    public init(byType: [String: Float] = EventWeights.defaultTypeWeights, defaultWeight: Float = 1,
                maxExplicitWeight: Float = EventWeights.defaultMaxExplicitWeight) {
        self.byType = byType
        self.defaultWeight = defaultWeight
        self.maxExplicitWeight = maxExplicitWeight
    }

    public func effectiveWeight(_ event: Event) -> Float {
        if let weight = event.weight { return min(weight, maxExplicitWeight) }
        if let type = event.type, let weight = byType[type] { return weight }
        return defaultWeight
    }
}

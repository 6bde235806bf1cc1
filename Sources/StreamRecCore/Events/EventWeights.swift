/// How strongly each interaction counts as positive feedback for the implicit-feedback model.
///
/// Rule (first match wins): the event's explicit `weight` if present (a rating, or a producer-side
/// weight); else the weight of its `type` in ``byType``; else ``defaultWeight``. "rating" is deliberately
/// absent from the default table: rating events carry their rating as `weight`.
public struct EventWeights: Sendable, Hashable {
    public var byType: [String: Float]
    /// Used for events without a weight whose type is missing or unknown.
    public var defaultWeight: Float

    /// view 1, click 2, add_to_cart 3, purchase 5.
    public static let defaultTypeWeights: [String: Float] = ["view": 1, "click": 2, "add_to_cart": 3, "purchase": 5]

    public init(byType: [String: Float] = EventWeights.defaultTypeWeights, defaultWeight: Float = 1) {
        self.byType = byType
        self.defaultWeight = defaultWeight
    }

    public func effectiveWeight(_ event: Event) -> Float {
        if let weight = event.weight { return weight }
        if let type = event.type, let weight = byType[type] { return weight }
        return defaultWeight
    }
}

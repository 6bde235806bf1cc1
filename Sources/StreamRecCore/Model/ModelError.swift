/// Raised when an SGD step would write a NaN or infinity into the model (diverging learning rate,
/// absurd weights). The offending update is rolled back, so the model stays finite and usable.
public struct NonFiniteModelError: Error, CustomStringConvertible, Sendable, Equatable {
    public var userIndex: Int32
    public var itemIndex: Int32
    public var score: Float

    public var description: String {
        "non-finite value in SGD step (user slot \(userIndex), item slot \(itemIndex), score \(score)); "
            + "update rolled back — lower learningRate or clamp event weights"
    }
}

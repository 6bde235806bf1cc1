// A learner copy for a snapshot writer, sharing everything but the factor matrices it takes from shadows.
extension OnlineLearner {
    /// Brings `shadows` up to date with this learner's matrices (creating them on first use: one full
    /// copy, and change tracking turned on) and returns ``snapshotCopy(factorsFrom:)``.
    public mutating func snapshotCopy(updating shadows: inout FactorShadows?) -> OnlineLearner {
        if shadows == nil {
            shadows = FactorShadows(of: &model)
        } else {
            shadows!.capture(from: &model)
        }
        return snapshotCopy(factorsFrom: shadows!)
    }

    /// A copy of this learner whose factor matrices are the shadows' (captured just before): what a
    /// snapshot writer encodes. The live matrices stay uniquely referenced, so the learner's next SGD
    /// write copies nothing; the rest of the state is shared copy-on-write as before.
    public func snapshotCopy(factorsFrom shadows: FactorShadows) -> OnlineLearner {
        var copy = self
        copy.model.factors.users = shadows.users.copy
        copy.model.factors.items = shadows.items.copy
        copy.model.factors.context = shadows.context.copy
        return copy
    }
}

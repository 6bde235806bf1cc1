// Incremental snapshot capture of the factor matrices (issue 9 item 3): instead of copying every
// matrix when a snapshot starts (copy-on-write of the whole learner), a snapshot scheduler keeps
// shadows and, between batches, brings them up to date by copying only the rows written since the
// previous capture. Owned by the scheduler, not by the model (it is not model state).

/// Shadow copies of a model's user, item and context factor matrices.
public struct FactorShadows: Sendable {
    public private(set) var users: FactorMatrixShadow
    public private(set) var items: FactorMatrixShadow
    public private(set) var context: FactorMatrixShadow

    /// Turns change tracking on in `model` and takes the first, full copy.
    public init(of model: inout MatrixFactorizationModel) {
        users = FactorMatrixShadow(of: &model.userFactors)
        items = FactorMatrixShadow(of: &model.itemFactors)
        context = FactorMatrixShadow(of: &model.contextFactors)
    }

    /// Copies the rows written (or appended) since the last capture; returns how many rows it copied.
    /// Afterwards the shadows equal the model's matrices, so the caller can encode them while the
    /// model keeps learning, and must not capture again until that encoding is done.
    @discardableResult
    public mutating func capture(from model: inout MatrixFactorizationModel) -> Int {
        users.capture(from: &model.userFactors) + items.capture(from: &model.itemFactors)
            + context.capture(from: &model.contextFactors)
    }
}

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
        copy.model.userFactors = shadows.users.copy
        copy.model.itemFactors = shadows.items.copy
        copy.model.contextFactors = shadows.context.copy
        return copy
    }
}

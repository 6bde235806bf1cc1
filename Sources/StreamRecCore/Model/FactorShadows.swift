// Incremental snapshot capture: a snapshot scheduler keeps shadow copies of the factor matrices and,
// between batches, copies only the rows written since the previous capture instead of copying every
// matrix when a snapshot starts. Owned by the scheduler: not model state.

/// Shadow copies of a model's user, item and context factor matrices.
public struct FactorShadows: Sendable {
    public private(set) var users: FactorMatrixShadow
    public private(set) var items: FactorMatrixShadow
    public private(set) var context: FactorMatrixShadow

    /// Turns change tracking on in `model` and takes the first, full copy.
    public init(of model: inout MatrixFactorizationModel) {
        users = FactorMatrixShadow(of: &model.factors.users)
        items = FactorMatrixShadow(of: &model.factors.items)
        context = FactorMatrixShadow(of: &model.factors.context)
    }

    /// Copies the rows written (or appended) since the last capture; returns how many rows it copied.
    /// Afterwards the shadows equal the model's matrices, so the caller can encode them while the
    /// model keeps learning, and must not capture again until that encoding is done.
    @discardableResult
    public mutating func capture(from model: inout MatrixFactorizationModel) -> Int {
        users.capture(from: &model.factors.users) + items.capture(from: &model.factors.items)
            + context.capture(from: &model.factors.context)
    }
}

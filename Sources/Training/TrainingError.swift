/// Why a run stopped before its end.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The loss of a step was NaN or infinite: the weights after it are not written.
    case nonFiniteLoss(step: Int, loss: Double, learningRate: Double)
    /// The ranks of a data-parallel run hold different things (model, data) where they must agree.
    case ranksDisagree(rank: Int, what: String)

    public var description: String {
        switch self {
        case let .nonFiniteLoss(step, loss, lr):
            return "step \(step): the loss is \(loss) (learning rate \(lr)); the run stopped and the last checkpoint was kept: try a smaller --lr"
        case let .ranksDisagree(rank, what):
            return "rank \(rank): the ranks of the run disagree: \(what)"
        }
    }
}

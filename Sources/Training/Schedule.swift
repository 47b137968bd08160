import Foundation

/// Learning-rate schedules as the official trainers use them, and early stopping.
public enum Schedule: Sendable, Equatable {
    /// No change.
    case constant
    /// PyTorch `StepLR`: lr = base * factor^(epoch / every) (official: every 40 epochs, x0.5).
    case step(every: Int, factor: Double)
    /// Keras `ReduceLROnPlateau(monitor="val_loss")`: after `patience` epochs whose loss did not
    /// improve on the best by more than `minDelta`, lr = max(lr * factor, floor) (official:
    /// x0.5 after 10 epochs, floor 1e-6).
    case plateau(factor: Double, patience: Int, floor: Double, minDelta: Double)
    /// nnU-Net's poly rule (`poly_lr`, set at each epoch's start by nnUNetTrainerV2's
    /// `maybe_update_lr`): epoch e (0-based) trains at base * (1 - e / maxEpochs)^exponent
    /// (official: exponent 0.9, 1000 epochs); 0 from maxEpochs on.
    case poly(exponent: Double, maxEpochs: Int)

    public static let officialStep = Schedule.step(every: 40, factor: 0.5)
    public static let officialPlateau = Schedule.plateau(factor: 0.5, patience: 10, floor: 1e-6, minDelta: 1e-4)
}

/// A schedule's running state: fed one monitored loss per epoch, it gives the learning rate
/// for the next epoch. Codable so that a checkpoint resumes it exactly.
public struct ScheduleState: Sendable, Equatable, Codable {
    public var baseLearningRate: Double
    public var learningRate: Double
    public var epochsDone = 0
    public var best = Double.infinity
    public var wait = 0

    public init(baseLearningRate: Double) {
        self.baseLearningRate = baseLearningRate
        learningRate = baseLearningRate
    }

    /// Records the end of an epoch (with its monitored loss, when there is one) and returns the
    /// learning rate for the next.
    public mutating func endEpoch(loss: Double?, schedule: Schedule) -> Double {
        epochsDone += 1
        switch schedule {
        case .constant: break
        case let .step(every, factor):
            var e = Double(1)
            for _ in 0..<(epochsDone / max(1, every)) { e *= factor }
            learningRate = baseLearningRate * e
        case let .poly(exponent, maxEpochs):
            learningRate = baseLearningRate * Self.poly(epoch: epochsDone, maxEpochs: maxEpochs, exponent: exponent)
        case let .plateau(factor, patience, floor, minDelta):
            guard let loss else { break }  // NaN counts as no improvement, as in Keras
            if loss < best - minDelta {
                best = loss
                wait = 0
            } else {
                wait += 1
                if wait >= patience {
                    if learningRate > floor { learningRate = max(learningRate * factor, floor) }
                    wait = 0
                }
            }
        }
        return learningRate
    }

    /// (1 - epoch / maxEpochs)^exponent, 0 from maxEpochs on.
    public static func poly(epoch: Int, maxEpochs: Int, exponent: Double) -> Double {
        pow(max(0, 1 - Double(epoch) / Double(max(1, maxEpochs))), exponent)
    }
}

/// Keras `EarlyStopping(patience:)` on a monitored loss (improvement: strictly below the best).
public struct EarlyStopping: Sendable, Equatable, Codable {
    public let patience: Int
    public var best = Double.infinity
    public var wait = 0

    public init(patience: Int) { self.patience = patience }

    /// Records an epoch's loss; true when training should stop.
    public mutating func shouldStop(after loss: Double) -> Bool {
        if loss < best {
            best = loss
            wait = 0
            return false
        }
        wait += 1
        return wait >= patience
    }
}

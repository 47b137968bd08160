import Foundation

/// Training losses on the network's output p (after sigmoid or softmax) against targets y of the
/// same shape, with their gradients dL/dp (the network's backward continues through the output
/// activation). schemas/numerics.md.
public enum Loss: String, Sendable, CaseIterable, Codable {
    /// Mean of (p - y)^2 over every element: pretraining (Keras `mse`, PyTorch `MSELoss`).
    case mse
    /// The official Models Genesis Dice loss over the whole batch as one volume:
    /// 1 - (2 sum(y p) + 1) / (sum y + sum p + 1).
    case dice
    /// Mean binary cross-entropy, -(y log p + (1 - y) log(1 - p)), logs clamped at -100 as
    /// PyTorch's `BCELoss` does.
    case bce
    /// Softmax cross-entropy: for each sample (and voxel), -sum_k y_k log p_k over the channel
    /// axis, averaged over samples and voxels; logs clamped at -100.
    case ce
    /// nnU-Net v1's `DC_and_CE_loss` (nnUNetTrainer: batch Dice, smooth 1e-5, no background) on
    /// softmax probabilities against one-hot targets (`Loss+DiceCE.swift`).
    case dcAndCE = "dc_and_ce"

    public struct Value: Sendable {
        public let loss: Double
        /// dL/dp, same layout as p.
        public let gradient: [Float]
    }

    /// `channels`: the channel count of p's (N, C, ...) layout (used by `ce`, `dc_and_ce`);
    /// `batch`: its sample count (used by `dc_and_ce`).
    public func evaluate(_ p: [Float], _ y: [Float], channels: Int = 1, batch: Int = 1) -> Value {
        precondition(p.count == y.count && !p.isEmpty, "loss: prediction and target must have the same non-zero size")
        switch self {
        case .mse: return Self.mse(p, y)
        case .dice: return Self.dice(p, y)
        case .bce: return Self.bce(p, y)
        case .ce: return Self.crossEntropy(p, y, channels: channels)
        case .dcAndCE: return Self.diceAndCrossEntropy(p, y, channels: channels, batch: batch)
        }
    }

    static func mse(_ p: [Float], _ y: [Float]) -> Value {
        let n = Double(p.count)
        var sum = 0.0
        var g = [Float](repeating: 0, count: p.count)
        let scale = Float(2 / n)
        for i in p.indices {
            let d = p[i] - y[i]
            sum += Double(d) * Double(d)
            g[i] = scale * d
        }
        return Value(loss: sum / n, gradient: g)
    }

    static func dice(_ p: [Float], _ y: [Float]) -> Value {
        dice(y, sums: diceSums(p, y))
    }

    /// log clamped at -100 (PyTorch), so p = 0 or 1 gives a finite loss.
    @inline(__always) static func clampedLog(_ v: Double) -> Double { max(-100, log(v)) }

    static func bce(_ p: [Float], _ y: [Float]) -> Value {
        let n = Double(p.count)
        var sum = 0.0
        var g = [Float](repeating: 0, count: p.count)
        for i in p.indices {
            let pi = Double(p[i]), yi = Double(y[i])
            sum -= yi * clampedLog(pi) + (1 - yi) * clampedLog(1 - pi)
            // d/dp of the clamped logs: 1/p where log p > -100 (PyTorch clamps the gradient's
            // denominator at 1e-12 the same way).
            let dp = -yi / max(pi, 1e-12) + (1 - yi) / max(1 - pi, 1e-12)
            g[i] = Float(dp / n)
        }
        return Value(loss: sum / n, gradient: g)
    }

    static func crossEntropy(_ p: [Float], _ y: [Float], channels c: Int) -> Value {
        precondition(c >= 1 && p.count % c == 0, "ce: size \(p.count) is not a multiple of \(c) channels")
        // (N, C, S) layout: positions are N * S; each averages -sum_k y log p.
        let positions = p.count / c
        var sum = 0.0
        var g = [Float](repeating: 0, count: p.count)
        let inv = 1 / Double(positions)
        for i in p.indices where y[i] != 0 {
            let pi = Double(p[i])
            sum -= Double(y[i]) * clampedLog(pi)
            g[i] = Float(-Double(y[i]) / max(pi, 1e-12) * inv)
        }
        return Value(loss: sum * inv, gradient: g)
    }
}

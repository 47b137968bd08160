import Foundation

/// nnU-Net v1's `DC_and_CE_loss` with nnUNetTrainer's arguments (smooth 1e-5, no background):
/// cross-entropy plus the soft Dice loss, both on softmax probabilities p of (N, C, S) layout
/// against one-hot targets y of the same layout. Forward and backward (dL/dp) side by side.
///
///   CE = -mean over samples and voxels of log p_label (`Loss.crossEntropy`);
///   per class k (and per sample without batch Dice), sums over voxels (and samples with it):
///     tp = sum p y, fp = sum p (1 - y), fn = sum (1 - p) y,
///     dc = (2 tp + smooth) / (2 tp + fp + fn + smooth + 1e-8);
///   DC = -mean of dc over classes 1..<C (and samples); loss = CE + DC.
///   d dc / d p_i = (2 y_i B - A) / B^2 with A = 2 tp + smooth, B = sum p + sum y + smooth + 1e-8
///   (2 tp + fp + fn = sum p + sum y).
extension Loss {
    public static let diceSmooth = 1e-5

    /// `batchDice`: the Dice sums run over the batch as one volume (nnUNetTrainer's default).
    public static func diceAndCrossEntropy(_ p: [Float], _ y: [Float], channels c: Int, batch n: Int,
                                           batchDice: Bool = true, smooth: Double = diceSmooth) -> Value {
        precondition(c >= 2 && n >= 1 && p.count % (c * n) == 0, "dc_and_ce: \(p.count) values are not \(n) samples of \(c) (>= 2) channels")
        let ce = crossEntropy(p, y, channels: c)
        let s = p.count / (n * c)
        // Sums of p and of y (and of p y) per (group, class): the group is the sample, or one for the batch.
        let groups = batchDice ? 1 : n
        var sp = [Double](repeating: 0, count: groups * c), sy = sp, spy = sp
        for b in 0..<n { for k in 1..<c {
            let g = (batchDice ? 0 : b) * c + k, base = (b * c + k) * s
            var a = 0.0, t = 0.0, at = 0.0
            for v in 0..<s {
                let pv = Double(p[base + v]), yv = Double(y[base + v])
                a += pv; t += yv; at += pv * yv
            }
            sp[g] += a; sy[g] += t; spy[g] += at
        } }
        let terms = Double(groups * (c - 1))
        var dice = 0.0
        var g = ce.gradient
        for b in 0..<n { for k in 1..<c {
            let i = (batchDice ? 0 : b) * c + k
            let numerator = 2 * spy[i] + smooth, denominator = sp[i] + sy[i] + smooth + 1e-8
            if batchDice ? b == 0 : true { dice += numerator / denominator }
            let base = (b * c + k) * s
            for v in 0..<s {
                let d = (2 * Double(y[base + v]) * denominator - numerator) / (denominator * denominator)
                g[base + v] -= Float(d / terms)
            }
        } }
        return Value(loss: ce.loss - dice / terms, gradient: g)
    }
}

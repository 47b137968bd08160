/// Gradients of one BatchNorm (+ fused ReLU) call.
public struct BatchNormGradients: Sendable {
    /// dLoss/dInput (the convolution output the BN read).
    public var input: FeatureMap
    public var gamma: [Float]
    public var beta: [Float]
}

extension BatchNorm {
    /// Backward of `apply(x, mode:, relu:)` given dLoss/dOutput, the BN's input `x`, its
    /// output `y` (for the ReLU mask, y > 0 as PyTorch's `threshold_backward`; ignored without
    /// ReLU) and the statistics it used. With x^ = (x - mean) / sqrt(var + eps) and dz the
    /// gradient after the ReLU mask, per channel over its M = N D H W values:
    /// dbeta = sum dz, dgamma = sum dz x^, and
    /// - batch mode (the statistics depend on x): dx = gamma / sqrt(var + eps) (dz - dbeta / M - x^ dgamma / M);
    /// - inference mode (an affine map): dx = gamma / sqrt(var + eps) dz.
    /// Channel sums in Double; with a `reducer` (`--sync-bn`), the batch-mode dx uses the sums
    /// and count of every process's slice (gamma and beta keep this process's own sums: the
    /// gradient reducer averages them with the rest).
    public func backward(input x: FeatureMap, output y: FeatureMap?, outputGradient dY: FeatureMap,
                         statistics stats: BatchNormStatistics, mode: BatchNormMode, relu: Bool,
                         threads: Int = Parallel.defaultThreads) throws -> BatchNormGradients {
        guard x.channels == channels, dY.shape == x.shape, !relu || y?.shape == x.shape,
              stats.mean.count == channels, stats.variance.count == channels else {
            throw RuntimeError.badInput(reason: "batchnorm backward: input \(x.shape), output gradient \(dY.shape) and \(channels) channels do not fit")
        }
        let (c, s, batch) = (channels, x.spatialCount, x.batch)
        var dX = try FeatureMap(uninitializedBatch: batch, channels: c, depth: x.depth, height: x.height, width: x.width)
        // sums[ch]: sum dz, sums[c + ch]: sum dz x^, sums[2c]: the count M.
        var sums = [Double](repeating: 0, count: 2 * c + 1)
        let outputs = relu ? y!.data : []
        x.data.withUnsafeBufferPointer { xp in
            dY.data.withUnsafeBufferPointer { gp in
                outputs.withUnsafeBufferPointer { yp in
                    dX.data.withUnsafeMutableBufferPointer { dp in
                        sums.withUnsafeMutableBufferPointer { sp in
                            let (xb, gb, db, sb) = (xp.baseAddress!, gp.baseAddress!, dp.baseAddress!, sp.baseAddress!)
                            let yb = relu ? yp.baseAddress : nil   // an empty array's base may be non-nil
                            Parallel.forEach(c, threads: threads) { ch, _ in
                                let mean = stats.mean[ch]
                                let inv = 1 / (stats.variance[ch] + epsilon).squareRoot()
                                // Pass 1: dz (masked dY) into dX, and the two channel sums
                                // (eight lanes in Float, folded into Double every 256 values).
                                var sumDz = 0.0, sumDzXhat = 0.0
                                let meanV = SIMD8<Float>(repeating: mean), invV = SIMD8<Float>(repeating: inv)
                                let vectorEnd = s & ~7
                                for n in 0..<batch {
                                    let off = (n * c + ch) * s
                                    let (xs, gs, ds) = (xb + off, gb + off, db + off)
                                    let ys = yb.map { $0 + off }
                                    var block = 0
                                    while block < vectorEnd {
                                        var a = SIMD8<Float>(), b = SIMD8<Float>()
                                        var i = block
                                        let end = min(vectorEnd, block + 256)
                                        while i < end {
                                            var dz = UnsafeRawPointer(gs + i).loadUnaligned(as: SIMD8<Float>.self)
                                            if let ys {
                                                let y = UnsafeRawPointer(ys + i).loadUnaligned(as: SIMD8<Float>.self)
                                                dz.replace(with: 0, where: .!(y .> 0))
                                            }
                                            UnsafeMutableRawPointer(ds + i).storeBytes(of: dz, as: SIMD8<Float>.self)
                                            let x = UnsafeRawPointer(xs + i).loadUnaligned(as: SIMD8<Float>.self)
                                            a += dz
                                            b += dz * ((x - meanV) * invV)
                                            i += 8
                                        }
                                        sumDz += Double(a.sum())
                                        sumDzXhat += Double(b.sum())
                                        block = end
                                    }
                                    for i in vectorEnd..<s {
                                        let dz = ys.map { $0[i] > 0 ? gs[i] : 0 } ?? gs[i]
                                        ds[i] = dz
                                        sumDz += Double(dz)
                                        sumDzXhat += Double(dz * ((xs[i] - mean) * inv))
                                    }
                                }
                                sb[ch] = sumDz
                                sb[c + ch] = sumDzXhat
                            }
                        }
                    }
                }
            }
        }
        // This process's sums are its gamma and beta gradients; the batch-mode dx takes the
        // whole batch's (all processes' under --sync-bn).
        let dGamma = (0..<c).map { Float(sums[c + $0]) }, dBeta = (0..<c).map { Float(sums[$0]) }
        sums[2 * c] = Double(batch * s)
        if mode == .batch { try reducer?.sum(&sums) }
        let count = sums[2 * c]
        x.data.withUnsafeBufferPointer { xp in
            dX.data.withUnsafeMutableBufferPointer { dp in
                let (xb, db) = (xp.baseAddress!, dp.baseAddress!)
                Parallel.forEach(c, threads: threads) { ch, _ in
                    let mean = stats.mean[ch]
                    let inv = 1 / (stats.variance[ch] + epsilon).squareRoot()
                    // Pass 2: dx from dz.
                    let k = gamma[ch] * inv
                    if mode == .batch {
                        let meanDz = Float(sums[ch] / count), meanDzXhat = Float(sums[c + ch] / count)
                        for n in 0..<batch {
                            let off = (n * c + ch) * s
                            let (xs, ds) = (xb + off, db + off)
                            for i in 0..<s { ds[i] = k * (ds[i] - meanDz - (xs[i] - mean) * inv * meanDzXhat) }
                        }
                    } else {
                        for n in 0..<batch {
                            let ds = db + (n * c + ch) * s
                            for i in 0..<s { ds[i] *= k }
                        }
                    }
                }
            }
        }
        return BatchNormGradients(input: dX, gamma: dGamma, beta: dBeta)
    }
}

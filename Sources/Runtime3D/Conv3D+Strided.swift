/// The general convolution path: any kernel, stride and zero padding per axis (D, H, W), output
/// side (in + 2 padding - kernel) / stride + 1 per axis, as PyTorch's `Conv3d`. nnU-Net's
/// Generic_UNet downsamples with kernel 3, padding 1, stride 2 or (1, 2, 2).
///
/// Per sample, im2col: a column matrix (in kd kh kw) x (output voxels), row
/// ((c kd + a) kh + b) kw + e for tap (a, b, e), zero where the tap falls in the padding; forward
/// Y = W cols + b (one GEMM), weight gradient dW += dY cols^T, input gradient dcols = W^T dY
/// scattered back (col2im). GEMMs run precisely (float64, the same bits on every CPU) below
/// `ConvolutionTuning.preciseMaxMultiplyAdds` as the stride-1 paths do. Memory: one column
/// matrix of one sample at a time.
extension Conv3D {
    /// Whether a convolution with these per-axis sides runs the general path (anything but the
    /// same kernel 1 or 3 on every axis with stride 1 and "same" padding).
    static func isGeneral(_ kernelSize: [Int], _ strides: [Int], _ paddings: [Int]) -> Bool {
        let k = kernelSize[0]
        return !(kernelSize.allSatisfy { $0 == k } && (k == 1 || k == 3) && strides.allSatisfy { $0 == 1 } && paddings.allSatisfy { $0 == k / 2 })
    }

    /// Whether this convolution runs the general path.
    var isGeneral: Bool { Conv3D.isGeneral(kernelSize, strides, paddings) }

    /// Output sides for input sides `sides`.
    func outputSides(_ sides: [Int]) -> [Int] { (0..<3).map { (sides[$0] + 2 * paddings[$0] - kernelSize[$0]) / strides[$0] + 1 } }

    /// The input parts as one map (upsampled parts materialised, parts concatenated).
    private func generalInput(_ parts: [ConvInput], threads: Int) throws -> FeatureMap {
        let maps = try parts.map { try $0.materialized(threads: threads) }
        let x = maps.count == 1 ? maps[0] : try FeatureMap.concatenated(maps)
        guard x.channels == inChannels else {
            throw RuntimeError.badInput(reason: "conv3d: input has \(x.channels) channels, expected \(inChannels)")
        }
        guard (0..<3).allSatisfy({ x.shape[2 + $0] + 2 * paddings[$0] >= kernelSize[$0] }) else {
            throw RuntimeError.badInput(reason: "conv3d: input \(x.shape) is smaller than kernel \(kernelSize) with padding \(paddings)")
        }
        return x
    }

    private func precise(batch: Int, voxels: Int) -> Bool {
        let (m, o) = (outChannels * inChannels * kernelSize.reduce(1, *)).multipliedReportingOverflow(by: batch * voxels)
        return !o && tuning.runsPrecisely(multiplyAdds: m)
    }

    func generalForward(_ parts: [ConvInput], threads: Int) throws -> FeatureMap {
        let x = try generalInput(parts, threads: threads)
        let o = outputSides([x.depth, x.height, x.width])
        var y = try FeatureMap(batch: x.batch, channels: outChannels, depth: o[0], height: o[1], width: o[2])
        let v = y.spatialCount, rows = inChannels * kernelSize.reduce(1, *)
        let exact = precise(batch: x.batch, voxels: v)
        var cols = [Float](repeating: 0, count: rows * v)
        for n in 0..<x.batch {
            fillColumns(x, sample: n, outputSides: o, into: &cols)
            y.data.withUnsafeMutableBufferPointer { yp in
                let out = yp.baseAddress! + n * outChannels * v
                for c in 0..<outChannels { for i in 0..<v { out[c * v + i] = bias[c] } }
                weight.withUnsafeBufferPointer { w in
                    cols.withUnsafeBufferPointer { cp in
                        GEMM.multiply(precise: exact, m: outChannels, n: v, k: rows, a: w.baseAddress!, lda: rows,
                                      b: cp.baseAddress!, ldb: v, beta: 1, c: out, ldc: v)
                    }
                }
            }
        }
        return y
    }

    func generalParameterGradients(_ parts: [ConvInput], outputGradient dY: FeatureMap, threads: Int) throws -> (weight: [Float], bias: [Float]) {
        let x = try generalInput(parts, threads: threads)
        let o = try checkedOutput(x, dY)
        let v = dY.spatialCount, rows = inChannels * kernelSize.reduce(1, *)
        let exact = precise(batch: x.batch, voxels: v)
        var cols = [Float](repeating: 0, count: rows * v)
        var dW = [Float](repeating: 0, count: outChannels * rows)
        for n in 0..<x.batch {
            fillColumns(x, sample: n, outputSides: o, into: &cols)
            dY.data.withUnsafeBufferPointer { gp in
                cols.withUnsafeBufferPointer { cp in
                    dW.withUnsafeMutableBufferPointer { wp in
                        GEMM.multiply(precise: exact, transB: true, m: outChannels, n: rows, k: v, a: gp.baseAddress! + n * outChannels * v,
                                      lda: v, b: cp.baseAddress!, ldb: v, beta: 1, c: wp.baseAddress!, ldc: rows)
                    }
                }
            }
        }
        return (dW, Reductions.channelSums(dY, threads: threads))
    }

    func generalInputGradients(_ parts: [ConvInput], outputGradient dY: FeatureMap, threads: Int) throws -> [FeatureMap] {
        let x = try generalInput(parts, threads: threads)
        let o = try checkedOutput(x, dY)
        let v = dY.spatialCount, rows = inChannels * kernelSize.reduce(1, *)
        let exact = precise(batch: x.batch, voxels: v)
        var dX = try FeatureMap(batch: x.batch, channels: inChannels, depth: x.depth, height: x.height, width: x.width)
        var cols = [Float](repeating: 0, count: rows * v)
        for n in 0..<x.batch {
            dY.data.withUnsafeBufferPointer { gp in
                weight.withUnsafeBufferPointer { w in
                    cols.withUnsafeMutableBufferPointer { cp in
                        GEMM.multiply(precise: exact, transA: true, m: rows, n: v, k: outChannels, a: w.baseAddress!, lda: rows,
                                      b: gp.baseAddress! + n * outChannels * v, ldb: v, beta: 0, c: cp.baseAddress!, ldc: v)
                    }
                }
            }
            scatterColumns(cols, sample: n, outputSides: o, into: &dX)
        }
        var start = 0
        return try parts.map { p in
            let c = p.map.channels
            defer { start += c }
            return p.isUpsampled ? try Resampling.upsampleNearest2Backward(dX, channels: start..<(start + c), threads: threads)
                : try dX.channelSlice(start..<(start + c), threads: threads)
        }
    }

    private func checkedOutput(_ x: FeatureMap, _ dY: FeatureMap) throws -> [Int] {
        let o = outputSides([x.depth, x.height, x.width])
        guard dY.shape == [x.batch, outChannels] + o else {
            throw RuntimeError.badInput(reason: "conv3d backward: output gradient has shape \(dY.shape), expected \([x.batch, outChannels] + o)")
        }
        return o
    }

    /// For every (row, output voxel) of the column matrix: the input index it reads in sample
    /// `n`, or nil in the padding; `body(row, column, inputIndex)`.
    private func forEachTap(_ sides: (Int, Int, Int), sample n: Int, outputSides o: [Int], _ body: (Int, Int, Int?) -> Void) {
        let (kd, kh, kw) = (kernelSize[0], kernelSize[1], kernelSize[2])
        let (sd, sh, sw) = (strides[0], strides[1], strides[2])
        let (pd, ph, pw) = (paddings[0], paddings[1], paddings[2])
        let (d, h, w) = sides
        let v = o[0] * o[1] * o[2]
        for c in 0..<inChannels {
            let plane = (n * inChannels + c) * d * h * w
            for a in 0..<kd { for b in 0..<kh { for e in 0..<kw {
                let row = ((c * kd + a) * kh + b) * kw + e
                var col = 0
                for zd in 0..<o[0] {
                    let id = zd * sd - pd + a
                    for zh in 0..<o[1] {
                        let ih = zh * sh - ph + b
                        for zw in 0..<o[2] {
                            let iw = zw * sw - pw + e
                            let inside = id >= 0 && id < d && ih >= 0 && ih < h && iw >= 0 && iw < w
                            body(row * v, col, inside ? plane + (id * h + ih) * w + iw : nil)
                            col += 1
                        }
                    }
                }
            } } }
        }
    }

    private func fillColumns(_ x: FeatureMap, sample n: Int, outputSides o: [Int], into cols: inout [Float]) {
        x.data.withUnsafeBufferPointer { xp in
            cols.withUnsafeMutableBufferPointer { cp in
                forEachTap((x.depth, x.height, x.width), sample: n, outputSides: o) { row, col, i in cp[row + col] = i.map { xp[$0] } ?? 0 }
            }
        }
    }

    private func scatterColumns(_ cols: [Float], sample n: Int, outputSides o: [Int], into dX: inout FeatureMap) {
        let sides = (dX.depth, dX.height, dX.width)
        cols.withUnsafeBufferPointer { cp in
            dX.data.withUnsafeMutableBufferPointer { xp in
                forEachTap(sides, sample: n, outputSides: o) { row, col, i in if let i { xp[i] += cp[row + col] } }
            }
        }
    }
}

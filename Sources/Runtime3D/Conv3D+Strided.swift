/// The general convolution path: any kernel, stride and zero padding (the same on every axis),
/// output side (in + 2 padding - kernel) / stride + 1, as PyTorch's `Conv3d`. nnU-Net's
/// Generic_UNet downsamples with kernel 3, padding 1, stride 2.
///
/// Per sample, im2col: a column matrix (in k^3) x (output voxels), row ((c k + kd) k + kh) k + kw,
/// zero where the tap falls in the padding; forward Y = W cols + b (one GEMM), weight gradient
/// dW += dY cols^T, input gradient dcols = W^T dY scattered back (col2im). GEMMs run precisely
/// (float64, the same bits on every CPU) below `ConvolutionTuning.preciseMaxMultiplyAdds` as the
/// stride-1 paths do. Memory: one column matrix of one sample at a time.
extension Conv3D {
    /// Whether this convolution runs the general path (not stride 1 with "same" padding and
    /// kernel 1 or 3).
    var isGeneral: Bool { stride != 1 || padding != kernel / 2 || !(kernel == 1 || kernel == 3) }

    /// Output sides for input sides `sides`.
    func outputSides(_ sides: [Int]) -> [Int] { sides.map { ($0 + 2 * padding - kernel) / stride + 1 } }

    /// The input parts as one map (upsampled parts materialised, parts concatenated).
    private func generalInput(_ parts: [ConvInput], threads: Int) throws -> FeatureMap {
        let maps = try parts.map { try $0.materialized(threads: threads) }
        let x = maps.count == 1 ? maps[0] : try FeatureMap.concatenated(maps)
        guard x.channels == inChannels else {
            throw RuntimeError.badInput(reason: "conv3d: input has \(x.channels) channels, expected \(inChannels)")
        }
        guard x.depth + 2 * padding >= kernel, x.height + 2 * padding >= kernel, x.width + 2 * padding >= kernel else {
            throw RuntimeError.badInput(reason: "conv3d: input \(x.shape) is smaller than kernel \(kernel) with padding \(padding)")
        }
        return x
    }

    private func precise(batch: Int, voxels: Int) -> Bool {
        let (m, o) = (outChannels * inChannels * kernel * kernel * kernel).multipliedReportingOverflow(by: batch * voxels)
        return !o && tuning.runsPrecisely(multiplyAdds: m)
    }

    func generalForward(_ parts: [ConvInput], threads: Int) throws -> FeatureMap {
        let x = try generalInput(parts, threads: threads)
        let o = outputSides([x.depth, x.height, x.width])
        var y = try FeatureMap(batch: x.batch, channels: outChannels, depth: o[0], height: o[1], width: o[2])
        let v = y.spatialCount, rows = inChannels * kernel * kernel * kernel
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
        let v = dY.spatialCount, rows = inChannels * kernel * kernel * kernel
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
        let v = dY.spatialCount, rows = inChannels * kernel * kernel * kernel
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
        let (k, s, p) = (kernel, stride, padding)
        let (d, h, w) = sides
        let v = o[0] * o[1] * o[2]
        for c in 0..<inChannels {
            let plane = (n * inChannels + c) * d * h * w
            for kd in 0..<k { for kh in 0..<k { for kw in 0..<k {
                let row = ((c * k + kd) * k + kh) * k + kw
                var col = 0
                for zd in 0..<o[0] {
                    let id = zd * s - p + kd
                    for zh in 0..<o[1] {
                        let ih = zh * s - p + kh
                        for zw in 0..<o[2] {
                            let iw = zw * s - p + kw
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

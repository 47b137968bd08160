/// Gradients of one transposed convolution: weight in the forward's layout (in, out, kd, kh, kw),
/// bias, and the input.
public struct ConvTranspose3DGradients: Sendable {
    public var weight: [Float]
    public var bias: [Float]
    public var input: FeatureMap
}

extension ConvTranspose3D {
    /// Backward of `forward(x)` given dLoss/dOutput. Per chunk of input rows the output
    /// gradient's taps are gathered into G ((out * taps) x columns, the forward's tile layout);
    /// then dX_chunk = W G (W as the (in) x (out * taps) matrix) and dW_worker += X_chunk G^T.
    /// The bias gradient is the sum of dY per channel.
    public func backward(input x: FeatureMap, outputGradient dY: FeatureMap, threads: Int = Parallel.defaultThreads) throws -> ConvTranspose3DGradients {
        guard x.channels == inChannels, dY.shape == [x.batch, outChannels] + outputSides([x.depth, x.height, x.width]) else {
            throw RuntimeError.badInput(reason: "conv-transpose3d backward: input \(x.shape) and output gradient \(dY.shape) do not fit")
        }
        var dX = try FeatureMap(uninitializedBatch: x.batch, channels: inChannels, depth: x.depth, height: x.height, width: x.width)
        let (si, so) = (x.spatialCount, dY.spatialCount)
        let (wi, hi) = (x.width, x.height)
        let (ow, ohw) = (dY.width, dY.height * dY.width)
        let taps = self.taps, (kd, kh, kw) = (kernelSize[0], kernelSize[1], kernelSize[2])
        let m = outChannels * taps, cin = inChannels, cout = outChannels
        let rowsTotal = x.depth * x.height
        let (rowsPerChunk, chunksPerSample) = chunkPlan(x, threads: threads)
        let chunks = x.batch * chunksPerSample
        let workers = Parallel.workers(chunks, threads: threads)
        let tiles = Scratch(workers: workers, capacity: m * rowsPerChunk * wi)
        let accumulators = Scratch(workers: workers, capacity: cin * m)
        let used = WorkerFlags(workers)
        let precise = runsPrecisely(x)
        x.data.withUnsafeBufferPointer { xp in
            dY.data.withUnsafeBufferPointer { gp in
                dX.data.withUnsafeMutableBufferPointer { dp in
                    weight.withUnsafeBufferPointer { wp in
                        let (xb, gb, db, wb) = (xp.baseAddress!, gp.baseAddress!, dp.baseAddress!, wp.baseAddress!)
                        Parallel.forEach(chunks, threads: threads) { chunk, worker in
                            let n = chunk / chunksPerSample
                            let r0 = (chunk % chunksPerSample) * rowsPerChunk
                            let r1 = min(rowsTotal, r0 + rowsPerChunk)
                            let cols = (r1 - r0) * wi
                            let t = tiles.buffer(worker)
                            let sample = gb + n * cout * so
                            for co in 0..<cout {
                                for tap in 0..<taps {
                                    let (a, b, c) = offsets(tap)
                                    let row = t + (co * taps + tap) * cols
                                    let plane = sample + co * so + a * ohw + b * ow + c
                                    for r in r0..<r1 {
                                        let (d, h) = (r / hi, r % hi)
                                        let src = plane + kd * d * ohw + kh * h * ow
                                        let dst = row + (r - r0) * wi
                                        for k in 0..<wi { dst[k] = src[kw * k] }
                                    }
                                }
                            }
                            let xc = xb + n * cin * si + r0 * wi
                            GEMM.multiply(precise: precise, m: cin, n: cols, k: m, a: wb, lda: m, b: t, ldb: cols,
                                          beta: 0, c: db + n * cin * si + r0 * wi, ldc: si)
                            let first = used.claim(worker)
                            GEMM.multiply(precise: precise, transB: true, m: cin, n: m, k: cols, a: xc, lda: si, b: t, ldb: cols,
                                          beta: first ? 0 : 1, c: accumulators.buffer(worker), ldc: m)
                        }
                    }
                }
            }
        }
        return ConvTranspose3DGradients(weight: used.sum(accumulators, count: cin * m),
                                        bias: Reductions.channelSums(dY, threads: threads), input: dX)
    }
}

/// ConvTranspose3d with kernel = stride per axis (kd, kh, kw) and bias (zero for PyTorch's
/// `bias=False`): 2x2x2 for the Genesis `up_conv`, also (1, 2, 2) for nnU-Net's anisotropic
/// upsampling. Weight layout (in, out, kd, kh, kw):
/// out[o, kd d+a, kh h+b, kw w+c] = bias[o] + sum_i x[i, d, h, w] * W[i, o, a, b, c], each input
/// voxel writing a block of its own (no overlap).
///
/// Per chunk of input rows one GEMM computes all kd kh kw taps, T = W^T X with W viewed as the
/// (in) x (out * taps) matrix, and the tile is scattered into the enlarged grid.
public struct ConvTranspose3D: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    /// Kernel = stride per axis (D, H, W).
    public let kernelSize: [Int]
    public let weight: [Float]
    public let bias: [Float]

    /// Tile budget per worker, in floats.
    public let tileFloats: Int
    /// Multiply-adds of one call below which its GEMMs run in Double (as `Conv3D`'s, see
    /// `ConvolutionTuning.preciseMaxMultiplyAdds`).
    public let preciseMaxMultiplyAdds: Int

    public init(weight: [Float], bias: [Float], inChannels: Int, outChannels: Int, kernelSize: [Int] = [2, 2, 2],
                tileFloats: Int = ConvolutionTuning.default.transposedTileFloats,
                preciseMaxMultiplyAdds: Int = ConvolutionTuning.default.preciseMaxMultiplyAdds) throws {
        guard tileFloats > 0 else { throw RuntimeError.badInput(reason: "conv-transpose3d: tile budget \(tileFloats) must be positive") }
        self.tileFloats = tileFloats
        self.preciseMaxMultiplyAdds = preciseMaxMultiplyAdds
        guard kernelSize.count == 3, kernelSize.allSatisfy({ $0 >= 1 }) else {
            throw RuntimeError.badInput(reason: "conv-transpose3d: kernel \(kernelSize) unsupported")
        }
        let taps = kernelSize.reduce(1, *)
        guard inChannels > 0, outChannels > 0, weight.count == inChannels * outChannels * taps else {
            throw RuntimeError.badInput(reason: "conv-transpose3d: weight holds \(weight.count) values, expected \(inChannels)x\(outChannels)x\(kernelSize.map(String.init).joined(separator: "x"))")
        }
        guard bias.count == outChannels else {
            throw RuntimeError.badInput(reason: "conv-transpose3d: bias holds \(bias.count) values, expected \(outChannels)")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.weight = weight
        self.bias = bias
    }

    /// Taps per filter (kd kh kw).
    public var taps: Int { kernelSize.reduce(1, *) }

    /// Output sides for input sides `sides` (D, H, W): each times its kernel.
    public func outputSides(_ sides: [Int]) -> [Int] { (0..<3).map { sides[$0] * kernelSize[$0] } }

    /// Tap t's offsets (a, b, c) within a voxel's output block.
    @inline(__always) func offsets(_ t: Int) -> (Int, Int, Int) {
        let (kh, kw) = (kernelSize[1], kernelSize[2])
        return (t / (kh * kw), (t / kw) % kh, t % kw)
    }

    /// Input rows per chunk (one GEMM tile within `tileFloats`, enough chunks for every
    /// worker) and chunks per sample: the forward and the backward tile alike.
    func chunkPlan(_ x: FeatureMap, threads: Int) -> (rowsPerChunk: Int, chunksPerSample: Int) {
        let rowsTotal = x.depth * x.height
        var rowsPerChunk = max(1, min(rowsTotal, tileFloats / (outChannels * taps * x.width)))
        if x.batch * ((rowsTotal + rowsPerChunk - 1) / rowsPerChunk) < threads {
            rowsPerChunk = max(1, rowsTotal / max(1, threads / x.batch))
        }
        return (rowsPerChunk, (rowsTotal + rowsPerChunk - 1) / rowsPerChunk)
    }

    /// Whether a call on `x` runs its GEMMs in Double.
    func runsPrecisely(_ x: FeatureMap) -> Bool {
        let (perVoxel, o1) = (inChannels * outChannels).multipliedReportingOverflow(by: taps)
        let (total, o2) = perVoxel.multipliedReportingOverflow(by: x.batch * x.spatialCount)
        return !(o1 || o2) && total < preciseMaxMultiplyAdds
    }

    /// The up-convolution that equals nearest upsampling: identity on channels at all 8 taps,
    /// zero bias.
    public static func identity(channels c: Int) -> ConvTranspose3D {
        var w = [Float](repeating: 0, count: c * c * 8)
        for i in 0..<c { for t in 0..<8 { w[(i * c + i) * 8 + t] = 1 } }
        return try! ConvTranspose3D(weight: w, bias: [Float](repeating: 0, count: c), inChannels: c, outChannels: c)
    }

    public func forward(_ x: FeatureMap, threads: Int = Parallel.defaultThreads) throws -> FeatureMap {
        guard x.channels == inChannels else {
            throw RuntimeError.badInput(reason: "conv-transpose3d: input has \(x.channels) channels, expected \(inChannels)")
        }
        let sides = outputSides([x.depth, x.height, x.width])
        var out = try FeatureMap(uninitializedBatch: x.batch, channels: outChannels, depth: sides[0], height: sides[1], width: sides[2])
        let (si, so) = (x.spatialCount, out.spatialCount)
        let (wi, hi) = (x.width, x.height)
        let (ow, ohw) = (out.width, out.height * out.width)
        let taps = self.taps, (kd, kh, kw) = (kernelSize[0], kernelSize[1], kernelSize[2])
        let m = outChannels * taps, cin = inChannels, cout = outChannels
        let rowsTotal = x.depth * x.height
        let (rowsPerChunk, chunksPerSample) = chunkPlan(x, threads: threads)
        let chunks = x.batch * chunksPerSample
        let scratch = Scratch(workers: Parallel.workers(chunks, threads: threads), capacity: m * rowsPerChunk * wi)
        let precise = runsPrecisely(x)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                weight.withUnsafeBufferPointer { wp in
                    let (xb, ob, wb) = (xp.baseAddress!, op.baseAddress!, wp.baseAddress!)
                    Parallel.forEach(chunks, threads: threads) { chunk, worker in
                        let n = chunk / chunksPerSample
                        let r0 = (chunk % chunksPerSample) * rowsPerChunk
                        let r1 = min(rowsTotal, r0 + rowsPerChunk)
                        let cols = (r1 - r0) * wi
                        let t = scratch.buffer(worker)
                        GEMM.multiply(precise: precise, transA: true, m: m, n: cols, k: cin, a: wb, lda: m,
                                      b: xb + n * cin * si + r0 * wi, ldb: si, beta: 0, c: t, ldc: cols)
                        let sample = ob + n * cout * so
                        for co in 0..<cout {
                            let bv = bias[co]
                            for tap in 0..<taps {
                                let (a, b, c) = offsets(tap)
                                let row = t + (co * taps + tap) * cols
                                let plane = sample + co * so + a * ohw + b * ow + c
                                for r in r0..<r1 {
                                    let (d, h) = (r / hi, r % hi)
                                    let dst = plane + kd * d * ohw + kh * h * ow
                                    let src = row + (r - r0) * wi
                                    for k in 0..<wi { dst[kw * k] = src[k] + bv }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

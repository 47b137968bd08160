/// Conv3D with bias, weight in PyTorch layout (out, in, kd, kh, kw). Several inputs are read as
/// their channel concatenation. Stride 1 with "same" padding and kernel 3x3x3 or 1x1x1 runs the
/// paths below; any other kernel, stride or padding (nnU-Net's kernel 3, padding 1, stride 2
/// downsampling) runs the general im2col path of `Conv3D+Strided.swift`. A convolution without
/// bias is one with a zero bias.
///
/// Kernel 3 runs as tiled im2col + GEMM (`GEMM.multiply`): output rows (one (d, h) line of `width`
/// voxels each) are grouped into chunks; per chunk a worker fills a column matrix
/// (in * 27) x (rows * width) and multiplies it by the weight matrix (out) x (in * 27),
/// writing straight into the output (ldc = voxels per channel). Memory beyond input and output
/// is one column tile per worker.
public struct Conv3D: Sendable {
    public let inChannels: Int
    public let outChannels: Int
    /// Kernel, stride and zero padding per spatial axis (D, H, W); the fast paths run only
    /// when they are the same on every axis.
    public let kernelSize: [Int]
    public let strides: [Int]
    public let paddings: [Int]
    /// The D axis's kernel, stride and padding (every axis's on the fast paths).
    public var kernel: Int { kernelSize[0] }
    public var stride: Int { strides[0] }
    public var padding: Int { paddings[0] }
    /// (out, in, kd, kh, kw), C order: row `o` of the GEMM's A matrix is filter `o`.
    public let weight: [Float]
    public let bias: [Float]
    /// The algorithm this convolution runs (kernel 3; kernel 1 is always one GEMM).
    public let algorithm: Algorithm
    /// Winograd-transformed filters for `algorithm`, when the layer is wide enough for it.
    let winograd: WinogradF43?
    /// Transformed on first use (see LazyWinograd2D).
    let winograd2D: LazyWinograd2D?

    /// How 3x3x3 convolutions are computed.
    public enum Algorithm: String, Sendable, CaseIterable {
        /// Tiled im2col + one GEMM per tile (27 * in reduction).
        case im2col
        /// Winograd F(4, 3) along width (half the multiplications) where width % 4 == 0 and
        /// in >= `winogradMinChannels`; im2col elsewhere.
        case winograd
        /// 2-D Winograd F(m x 4, 3x3) on height and width, m = `tuning.winograd2DHeightTile`,
        /// where height % m == 0, width % 4 == 0, in >= `tuning.winograd2DMinChannels` and a
        /// sample has at least `tuning.winograd2DMinTiles` output tiles;
        /// narrower layers as `winograd`; shapes that do not tile fall back to im2col. (Every
        /// Winograd path falls back to im2col on non-finite inputs or weights: see NonFinite.)
        case winograd2D
    }

    /// The algorithm kernel-3 convolutions use unless told otherwise (2-D Winograd: measured
    /// fastest, see BENCHMARKS.md). Each convolution fixes its algorithm, and its transformed
    /// filters, at init.
    public static let defaultAlgorithm: Algorithm = .winograd2D
    /// Fewest input channels for Winograd (the first layer, in = 1, is too thin for it).
    public static let winogradMinChannels = 4

    /// Tiling and algorithm thresholds this convolution was built with.
    public let tuning: ConvolutionTuning

    public init(weight: [Float], bias: [Float], outChannels: Int, inChannels: Int, kernel: Int, stride: Int = 1, padding: Int? = nil,
                algorithm: Algorithm = Conv3D.defaultAlgorithm, tuning: ConvolutionTuning = .default) throws {
        let padding = padding ?? kernel / 2
        try self.init(weight: weight, bias: bias, outChannels: outChannels, inChannels: inChannels, kernelSize: [kernel, kernel, kernel],
                      strides: [stride, stride, stride], paddings: [padding, padding, padding], algorithm: algorithm, tuning: tuning)
    }

    /// Per-axis (D, H, W) kernel, stride and padding (default `kernel / 2` per axis): anything
    /// but the same kernel 1 or 3 with stride 1 and "same" padding on every axis runs the
    /// general path (`Conv3D+Strided.swift`).
    public init(weight: [Float], bias: [Float], outChannels: Int, inChannels: Int, kernelSize: [Int], strides: [Int], paddings: [Int]? = nil,
                algorithm: Algorithm = Conv3D.defaultAlgorithm, tuning: ConvolutionTuning = .default) throws {
        let paddings = paddings ?? kernelSize.map { $0 / 2 }
        guard kernelSize.count == 3, strides.count == 3, paddings.count == 3,
              (0..<3).allSatisfy({ kernelSize[$0] >= 1 && strides[$0] >= 1 && paddings[$0] >= 0 && paddings[$0] < kernelSize[$0] }) else {
            throw RuntimeError.badInput(reason: "conv3d: kernel \(kernelSize), stride \(strides), padding \(paddings) unsupported")
        }
        let kernel = kernelSize[0]
        let general = Conv3D.isGeneral(kernelSize, strides, paddings)
        let k3 = kernelSize.reduce(1, *)
        guard outChannels > 0, inChannels > 0, weight.count == outChannels * inChannels * k3 else {
            throw RuntimeError.badInput(reason: "conv3d: weight holds \(weight.count) values, expected \(outChannels)x\(inChannels)x\(k3)")
        }
        guard bias.count == outChannels else { throw RuntimeError.badInput(reason: "conv3d: bias holds \(bias.count) values, expected \(outChannels)") }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.strides = strides
        self.paddings = paddings
        self.weight = weight
        self.bias = bias
        self.algorithm = algorithm
        self.tuning = tuning
        // Non-finite weights run the direct form (see NonFinite): no transformed filters.
        let winogradable = !general && kernel == 3 && algorithm != .im2col && !NonFinite.contains(weight, threads: Parallel.defaultThreads)
        let use2D = winogradable && algorithm == .winograd2D && inChannels >= max(Conv3D.winogradMinChannels, tuning.winograd2DMinChannels)
        let use1D = winogradable && !use2D && inChannels >= Conv3D.winogradMinChannels
        winograd2D = use2D ? LazyWinograd2D(weight: weight, outChannels: outChannels, inChannels: inChannels,
                                            heightTile: tuning.winograd2DHeightTile) : nil
        winograd = use1D ? WinogradF43(weight: weight, outChannels: outChannels, inChannels: inChannels) : nil
    }

    /// (out, in, kd, kh, kw).
    public var weightShape: [Int] { [outChannels, inChannels] + kernelSize }

    /// Multiply-adds x 2 for one call on `voxels` output voxels per sample.
    public func flops(voxels: Int) -> Double { 2 * Double(voxels) * Double(inChannels * outChannels * kernelSize.reduce(1, *)) }

    public func forward(_ x: FeatureMap, threads: Int = Parallel.defaultThreads) throws -> FeatureMap {
        try forward([ConvInput.map(x)], threads: threads)
    }

    /// Convolution of the channel concatenation of `inputs`.
    public func forward(_ inputs: [FeatureMap], threads: Int = Parallel.defaultThreads) throws -> FeatureMap {
        try forward(inputs.map { ConvInput.map($0) }, threads: threads)
    }

    /// Convolution of the channel concatenation of `parts`; upsampled parts are read through
    /// the upsampling by the Winograd paths and materialised for the others. An input holding
    /// NaN or Inf runs the direct form (see `NonFinite`), so they propagate as in PyTorch.
    public func forward(_ parts: [ConvInput], threads: Int = Parallel.defaultThreads) throws -> FeatureMap {
        if isGeneral { return try generalForward(parts, threads: threads) }
        var src = try ChannelSources(parts, op: "conv3d")
        guard src.channels == inChannels else {
            throw RuntimeError.badInput(reason: "conv3d: input has \(src.channels) channels, expected \(inChannels)")
        }
        let precise = runsPrecisely(src)
        if !precise, runsByPhases(parts, threads: threads) { return try forwardByPhases(parts, src, threads: threads) }
        let path = precise ? .im2col : self.path(for: src)
        let finite = path == .im2col || !parts.contains { NonFinite.contains($0.map.data, threads: threads) }
        let use2D = finite && path == .winograd2D
        let use1D = finite && path == .winograd
        var maps = parts.map(\.map)
        if src.anyUpsampled, !(use2D || use1D) {
            maps = try parts.map { try $0.materialized(threads: threads) }
            src = try ChannelSources(maps, op: "conv3d")
        }
        var out = try FeatureMap(uninitializedBatch: src.batch, channels: outChannels, depth: src.depth, height: src.height, width: src.width)
        ChannelSources.withPointers(maps) { ptrs in
            out.data.withUnsafeMutableBufferPointer { o in
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        if use2D, let wino = winograd2D?.filters {
                            wino.run(src, ptrs, b.baseAddress!, o.baseAddress!, tuning: tuning, threads: threads)
                        } else if use1D, let wino = winograd {
                            wino.run(src, ptrs, b.baseAddress!, o.baseAddress!, tuning: tuning, threads: threads)
                        } else if kernel == 3 {
                            run3(src, ptrs, w.baseAddress!, b.baseAddress!, o.baseAddress!, precise: precise, threads: threads)
                        } else {
                            run1(src, ptrs, w.baseAddress!, b.baseAddress!, o.baseAddress!, precise: precise, threads: threads)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Whether a call on `src` runs the direct form with float64 GEMMs (see
    /// `ConvolutionTuning.preciseMaxMultiplyAdds`); the input gradient's flipped convolution
    /// has the same count, so a layer's forward and backward decide alike.
    func runsPrecisely(_ src: ChannelSources) -> Bool {
        let (perVoxel, o1) = (inChannels * outChannels).multipliedReportingOverflow(by: kernelSize.reduce(1, *))
        let (voxels, o2) = src.batch.multipliedReportingOverflow(by: src.spatialCount)
        let (total, o3) = perVoxel.multipliedReportingOverflow(by: voxels)
        return !(o1 || o2 || o3) && tuning.runsPrecisely(multiplyAdds: total)
    }

    /// The algorithm that runs on inputs of this shape (kernel 1 reports `.im2col`: one GEMM):
    /// the one chosen at init where the shape tiles, else the next simpler one.
    func path(for src: ChannelSources) -> Algorithm {
        if winograd2D?.fits(depth: src.depth, height: src.height, width: src.width, minTiles: tuning.winograd2DMinTiles) ?? false {
            return .winograd2D
        }
        if winograd != nil && WinogradF43.fits(width: src.width) { return .winograd }
        return .im2col
    }

    /// 3x3x3: tiled im2col + GEMM per (sample, row chunk).
    private func run3(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], _ w: UnsafePointer<Float>,
                      _ b: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, precise: Bool, threads: Int) {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let s = src.spatialCount
        let k = inChannels * 27
        let rowsTotal = d * h
        let rowsByBudget = max(1, tuning.tileFloats / (k * wd))
        let rowsByWidth = (tuning.minTileColumns + wd - 1) / wd
        var rowsPerChunk = min(rowsTotal, max(rowsByBudget, rowsByWidth))
        // Enough chunks that every worker has work.
        if src.batch * ((rowsTotal + rowsPerChunk - 1) / rowsPerChunk) < threads {
            rowsPerChunk = max(1, rowsTotal / max(1, threads / src.batch))
        }
        let chunksPerSample = (rowsTotal + rowsPerChunk - 1) / rowsPerChunk
        let chunks = src.batch * chunksPerSample
        let scratch = Scratch(workers: Parallel.workers(chunks, threads: threads), capacity: k * rowsPerChunk * wd)
        let table = src.channelTable
        let sourceStride = src.channelCounts.map { $0 * s }
        let cout = outChannels
        Parallel.forEach(chunks, threads: threads) { chunk, worker in
            let n = chunk / chunksPerSample
            let r0 = (chunk % chunksPerSample) * rowsPerChunk
            let r1 = min(rowsTotal, r0 + rowsPerChunk)
            let cols = (r1 - r0) * wd
            let col = scratch.buffer(worker)
            for (ci, entry) in table.enumerated() {
                let plane = ptrs[entry.source] + n * sourceStride[entry.source] + entry.channel * s
                Im2col.fill3(plane: plane, depth: d, height: h, width: wd, rows: r0..<r1,
                             into: col + ci * 27 * cols, rowStride: cols)
            }
            let c = o + n * cout * s + r0 * wd
            GEMM.multiply(precise: precise, m: cout, n: cols, k: k, a: w, lda: k, b: col, ldb: cols, beta: 0, c: c, ldc: s)
            for co in 0..<cout {
                let bv = b[co]
                let row = c + co * s
                for j in 0..<cols { row[j] += bv }
            }
        }
    }

    /// 1x1x1: one GEMM per (sample, column chunk) and input part, accumulating.
    private func run1(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], _ w: UnsafePointer<Float>,
                      _ b: UnsafePointer<Float>, _ o: UnsafeMutablePointer<Float>, precise: Bool, threads: Int) {
        let s = src.spatialCount
        let cout = outChannels, cin = inChannels
        let perSample = max(1, min(s / 1024, 4 * threads))
        let ranges = Parallel.ranges(s, parts: perSample)
        Parallel.forEach(src.batch * ranges.count, threads: threads) { chunk, _ in
            let n = chunk / ranges.count
            let r = ranges[chunk % ranges.count]
            let c = o + n * cout * s + r.lowerBound
            for co in 0..<cout {
                let row = c + co * s
                for j in 0..<r.count { row[j] = b[co] }
            }
            var offset = 0
            for (part, cp) in src.channelCounts.enumerated() {
                let bp = ptrs[part] + n * cp * s + r.lowerBound
                GEMM.multiply(precise: precise, m: cout, n: r.count, k: cp, a: w + offset, lda: cin, b: bp, ldb: s, beta: 1, c: c, ldc: s)
                offset += cp
            }
        }
    }
}

/// Column-matrix filling for 3x3x3 "same" convolutions.
enum Im2col {
    /// Writes the 27 tap rows of one input channel plane for output rows `rows` (row r is the
    /// (d, h) = (r / height, r % height) line): tap t = kd*9 + kh*3 + kw goes to
    /// `dst + t * rowStride`, holding x[d+kd-1, h+kh-1, w+kw-1] (zero outside the volume).
    static func fill3(plane: UnsafePointer<Float>, depth: Int, height: Int, width: Int, rows: Range<Int>,
                      into dst: UnsafeMutablePointer<Float>, rowStride: Int) {
        let hw = height * width
        for kd in 0..<3 {
            for kh in 0..<3 {
                for kw in 0..<3 {
                    let tap = dst + (kd * 9 + kh * 3 + kw) * rowStride
                    var p = tap
                    for r in rows {
                        let sd = r / height + kd - 1
                        let sh = r % height + kh - 1
                        if sd < 0 || sd >= depth || sh < 0 || sh >= height {
                            p.update(repeating: 0, count: width)
                        } else {
                            let line = plane + sd * hw + sh * width
                            switch kw {
                            case 0:
                                p[0] = 0
                                (p + 1).update(from: line, count: width - 1)
                            case 1:
                                p.update(from: line, count: width)
                            default:
                                p.update(from: line + 1, count: width - 1)
                                p[width - 1] = 0
                            }
                        }
                        p += width
                    }
                }
            }
        }
    }
}

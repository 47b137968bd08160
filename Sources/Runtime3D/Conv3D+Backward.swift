/// What a convolution's backward pass returns: the gradients of its weight (the forward's
/// layout, (out, in, k, k, k)), its bias, and of each input part in that part's own shape (a
/// part read through 2x nearest upsampling gets its gradient at its low resolution: the sum
/// over each voxel's 2x2x2 children).
public struct Conv3DGradients: Sendable {
    public var weight: [Float]
    public var bias: [Float]
    /// One per input part; empty when the input gradient was not asked for.
    public var inputs: [FeatureMap]
}

extension Conv3D {
    /// Backward of `forward(parts)` given dLoss/dOutput.
    ///
    /// Input gradient: for kernel 3 a "same" convolution of dY with the kernel flipped on all
    /// three axes and in/out swapped, run by the same algorithm as the forward (its Winograd
    /// paths included); for kernel 1 one GEMM W^T dY. Weight gradient: where the forward runs
    /// 2-D Winograd, by its transposed identity (`Winograd2D.weightGradient`); else dW
    /// (out x in * 27) = sum over tiles of dY_tile (out x columns) times im2col(x)_tile^T,
    /// per-worker accumulators, one column tile per worker (never a full im2col). Bias: the sum
    /// of dY.
    /// Sums are accumulated in float32 GEMMs and reduced across workers in Double; below
    /// `ConvolutionTuning.preciseMaxMultiplyAdds` every GEMM runs in Double (`GEMM`) and the
    /// weight gradient by im2col, as the forward's direct form.
    public func backward(_ parts: [ConvInput], outputGradient dY: FeatureMap, inputGradient: Bool = true,
                         threads: Int = Parallel.defaultThreads) throws -> Conv3DGradients {
        let (weight, bias) = try parameterGradients(parts, outputGradient: dY, threads: threads)
        let inputs = inputGradient ? try inputGradients(parts, outputGradient: dY, threads: threads) : []
        return Conv3DGradients(weight: weight, bias: bias, inputs: inputs)
    }

    /// The weight and bias halves of `backward`.
    public func parameterGradients(_ parts: [ConvInput], outputGradient dY: FeatureMap,
                                   threads: Int = Parallel.defaultThreads) throws -> (weight: [Float], bias: [Float]) {
        if isGeneral { return try generalParameterGradients(parts, outputGradient: dY, threads: threads) }
        let src = try checkedSources(parts, dY)
        let bias = Reductions.channelSums(dY, threads: threads)
        let weight = kernel == 3 ? weightGradient3(src, parts, dY, threads: threads)
            : weightGradient1(src, parts, dY, precise: runsPrecisely(src), threads: threads)
        return (weight, bias)
    }

    /// The input half of `backward`: one gradient per part, in the part's own shape.
    public func inputGradients(_ parts: [ConvInput], outputGradient dY: FeatureMap,
                               threads: Int = Parallel.defaultThreads) throws -> [FeatureMap] {
        if isGeneral { return try generalInputGradients(parts, outputGradient: dY, threads: threads) }
        let src = try checkedSources(parts, dY)
        let dX = kernel == 3 ? try flippedForData(threads: threads).forward(dY, threads: threads)
            : try dataGradient1(dY, precise: runsPrecisely(src), threads: threads)
        return try src.channelRanges.enumerated().map { i, range in
            parts[i].isUpsampled ? try Resampling.upsampleNearest2Backward(dX, channels: range, threads: threads)
                : try dX.channelSlice(range, threads: threads)
        }
    }

    private func checkedSources(_ parts: [ConvInput], _ dY: FeatureMap) throws -> ChannelSources {
        let src = try ChannelSources(parts, op: "conv3d backward")
        guard src.channels == inChannels else {
            throw RuntimeError.badInput(reason: "conv3d backward: input has \(src.channels) channels, expected \(inChannels)")
        }
        guard dY.shape == [src.batch, outChannels, src.depth, src.height, src.width] else {
            throw RuntimeError.badInput(reason: "conv3d backward: output gradient has shape \(dY.shape), expected \([src.batch, outChannels, src.depth, src.height, src.width])")
        }
        return src
    }

    /// The convolution whose forward is this one's input gradient: weight W'[i, o, a, b, c] =
    /// W[o, i, 2-a, 2-b, 2-c], no bias, same algorithm, the backward's tuning.
    func flippedForData(threads: Int = Parallel.defaultThreads) throws -> Conv3D {
        let (cin, cout) = (inChannels, outChannels)
        // Every element is written: (o, i, t) for all o, i and the 27 taps.
        let flipped = [Float](unsafeUninitializedCapacity: weight.count) { f, count in
            weight.withUnsafeBufferPointer { w in
                let (wb, fb) = (w.baseAddress!, f.baseAddress!)
                Parallel.forEach(cout, threads: threads) { o, _ in
                    for i in 0..<cin {
                        let from = wb + (o * cin + i) * 27
                        let to = fb + (i * cout + o) * 27
                        for t in 0..<27 { to[t] = from[26 - t] }
                    }
                }
            }
            count = weight.count
        }
        return try Conv3D(weight: flipped, bias: [Float](repeating: 0, count: inChannels), outChannels: inChannels,
                          inChannels: outChannels, kernel: 3, algorithm: algorithm, tuning: tuning.forBackward)
    }

    /// dW for kernel 3: by the transposed 2-D Winograd identity where the forward runs 2-D
    /// Winograd on this shape (and the values are finite; see `NonFinite`), else tiled im2col.
    private func weightGradient3(_ src: ChannelSources, _ parts: [ConvInput], _ dY: FeatureMap, threads: Int) -> [Float] {
        if runsPrecisely(src) { return weightGradientByRowChunks(src, parts, dY, precise: true, threads: threads) }
        if winograd2D != nil, path(for: src) == .winograd2D,
           !NonFinite.contains(dY.data, threads: threads), !parts.contains(where: { NonFinite.contains($0.map.data, threads: threads) }) {
            let dW = ChannelSources.withPointers(parts.map(\.map)) { ptrs in
                dY.data.withUnsafeBufferPointer { g in
                    Winograd2D.weightGradient(src, ptrs, outputGradient: g.baseAddress!, outChannels: outChannels,
                                              heightTile: tuning.backwardHeightTile, tuning: tuning, threads: threads)
                }
            }
            if let dW { return dW }
        }
        return weightGradientIm2col(src, parts, dY, threads: threads)
    }

    /// dW for kernel 3 by im2col: for wide layers (dW of at least
    /// `tuning.channelBlockedWeightGradientMinimum` values, more than 16 input channels) split
    /// over blocks of 16 input channels, each owning its columns of dW (no per-worker copies,
    /// long GEMM reductions over whole samples); else per (sample, row chunk) with per-worker
    /// accumulators.
    func weightGradientIm2col(_ src: ChannelSources, _ parts: [ConvInput], _ dY: FeatureMap, threads: Int) -> [Float] {
        if outChannels * inChannels * 27 >= tuning.channelBlockedWeightGradientMinimum && inChannels > 16 {
            return weightGradientByChannelBlocks(src, parts, dY, threads: threads)
        }
        return weightGradientByRowChunks(src, parts, dY, precise: false, threads: threads)
    }

    /// Input-channel blocks of 16: task b fills the im2col rows of its channels for a run of
    /// output rows (up to `tileFloats`, whole samples where they fit) and accumulates
    /// dW[:, 27 c0 ..< 27 c1] += dY_rows col^T in place.
    private func weightGradientByChannelBlocks(_ src: ChannelSources, _ parts: [ConvInput], _ dY: FeatureMap, threads: Int) -> [Float] {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let s = src.spatialCount
        let k = inChannels * 27
        let block = 16
        let blocks = (inChannels + block - 1) / block
        let rowsTotal = d * h
        let rowsPerChunk = min(rowsTotal, max(1, tuning.tileFloats / (block * 27 * wd)))
        let chunksPerSample = (rowsTotal + rowsPerChunk - 1) / rowsPerChunk
        let columns = Scratch(workers: Parallel.workers(blocks, threads: threads), capacity: block * 27 * rowsPerChunk * wd + wd + 2)
        let table = src.channelTable
        let cout = outChannels
        var dW = [Float](repeating: 0, count: cout * k)
        ChannelSources.withPointers(parts.map(\.map)) { ptrs in
            dY.data.withUnsafeBufferPointer { g in
                dW.withUnsafeMutableBufferPointer { wp in
                    let wb = wp.baseAddress!
                    Parallel.forEach(blocks, threads: threads) { b, worker in
                        let c0 = b * block, c1 = min(inChannels, c0 + block)
                        let n27 = (c1 - c0) * 27
                        let col = columns.buffer(worker)
                        let line = col + block * 27 * rowsPerChunk * wd
                        for n in 0..<src.batch {
                            for chunk in 0..<chunksPerSample {
                                let r0 = chunk * rowsPerChunk, r1 = min(rowsTotal, r0 + rowsPerChunk)
                                let cols = (r1 - r0) * wd
                                for ci in c0..<c1 {
                                    let entry = table[ci]
                                    Im2col.fill3(src, src.plane(ptrs, entry, sample: n), upsampled: src.upsampled[entry.source], rows: r0..<r1,
                                                 line: line, into: col + (ci - c0) * 27 * cols, rowStride: cols)
                                }
                                GEMM.multiply(precise: false, transB: true, m: cout, n: n27, k: cols,
                                              a: g.baseAddress! + n * cout * s + r0 * wd, lda: s, b: col, ldb: cols,
                                              beta: 1, c: wb + c0 * 27, ldc: k)
                            }
                        }
                    }
                }
            }
        }
        return dW
    }

    /// Per (sample, row chunk) the chunk's im2col columns (read through any upsampling) and one
    /// GEMM dW_worker += dY_chunk col^T.
    private func weightGradientByRowChunks(_ src: ChannelSources, _ parts: [ConvInput], _ dY: FeatureMap, precise: Bool, threads: Int) -> [Float] {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let s = src.spatialCount
        let k = inChannels * 27
        let rowsTotal = d * h
        var rowsPerChunk = min(rowsTotal, max(max(1, tuning.tileFloats / (k * wd)), (tuning.minTileColumns + wd - 1) / wd))
        if src.batch * ((rowsTotal + rowsPerChunk - 1) / rowsPerChunk) < threads {
            rowsPerChunk = max(1, rowsTotal / max(1, threads / src.batch))
        }
        let chunksPerSample = (rowsTotal + rowsPerChunk - 1) / rowsPerChunk
        let chunks = src.batch * chunksPerSample
        let workers = Parallel.workers(chunks, threads: threads)
        let columns = Scratch(workers: workers, capacity: k * rowsPerChunk * wd + wd + 2)
        let accumulators = Scratch(workers: workers, capacity: outChannels * k)
        let used = WorkerFlags(workers)
        let table = src.channelTable
        let cout = outChannels
        ChannelSources.withPointers(parts.map(\.map)) { ptrs in
            dY.data.withUnsafeBufferPointer { g in
                Parallel.forEach(chunks, threads: threads) { chunk, worker in
                    let n = chunk / chunksPerSample
                    let r0 = (chunk % chunksPerSample) * rowsPerChunk
                    let r1 = min(rowsTotal, r0 + rowsPerChunk)
                    let cols = (r1 - r0) * wd
                    let col = columns.buffer(worker)
                    let line = col + k * rowsPerChunk * wd
                    for (ci, entry) in table.enumerated() {
                        Im2col.fill3(src, src.plane(ptrs, entry, sample: n), upsampled: src.upsampled[entry.source], rows: r0..<r1,
                                     line: line, into: col + ci * 27 * cols, rowStride: cols)
                    }
                    let first = used.claim(worker)
                    GEMM.multiply(precise: precise, transB: true, m: cout, n: k, k: cols,
                                  a: g.baseAddress! + n * cout * s + r0 * wd, lda: s, b: col, ldb: cols,
                                  beta: first ? 0 : 1, c: accumulators.buffer(worker), ldc: k)
                }
            }
        }
        return used.sum(accumulators, count: outChannels * k)
    }

    /// dW for kernel 1: per sample and part, dW[:, part] += dY_n X_n^T (out x s times s x in_part).
    private func weightGradient1(_ src: ChannelSources, _ parts: [ConvInput], _ dY: FeatureMap, precise: Bool, threads: Int) -> [Float] {
        let maps = (try? parts.map { try $0.materialized(threads: threads) }) ?? []
        let s = src.spatialCount
        let (cout, cin) = (outChannels, inChannels)
        let ranges = Parallel.ranges(s, parts: max(1, min(s / 4096, 4 * threads)))
        let chunks = src.batch * ranges.count
        let workers = Parallel.workers(chunks, threads: threads)
        let accumulators = Scratch(workers: workers, capacity: cout * cin)
        let used = WorkerFlags(workers)
        ChannelSources.withPointers(maps) { ptrs in
            dY.data.withUnsafeBufferPointer { g in
                Parallel.forEach(chunks, threads: threads) { chunk, worker in
                    let n = chunk / ranges.count
                    let r = ranges[chunk % ranges.count]
                    let acc = accumulators.buffer(worker)
                    let first = used.claim(worker)
                    var offset = 0
                    for (part, cp) in src.channelCounts.enumerated() {
                        GEMM.multiply(precise: precise, transB: true, m: cout, n: cp, k: r.count,
                                      a: g.baseAddress! + n * cout * s + r.lowerBound, lda: s, b: ptrs[part] + n * cp * s + r.lowerBound, ldb: s,
                                      beta: first ? 0 : 1, c: acc + offset, ldc: cin)
                        offset += cp
                    }
                }
            }
        }
        return used.sum(accumulators, count: cout * cin)
    }

    /// dX for kernel 1: W^T dY per (sample, column chunk).
    private func dataGradient1(_ dY: FeatureMap, precise: Bool, threads: Int) throws -> FeatureMap {
        var dX = try FeatureMap(uninitializedBatch: dY.batch, channels: inChannels, depth: dY.depth, height: dY.height, width: dY.width)
        let s = dY.spatialCount
        let (cout, cin) = (outChannels, inChannels)
        let ranges = Parallel.ranges(s, parts: max(1, min(s / 1024, 4 * threads)))
        dY.data.withUnsafeBufferPointer { g in
            weight.withUnsafeBufferPointer { w in
                dX.data.withUnsafeMutableBufferPointer { x in
                    let (gb, wb, xb) = (g.baseAddress!, w.baseAddress!, x.baseAddress!)
                    Parallel.forEach(dY.batch * ranges.count, threads: threads) { chunk, _ in
                        let n = chunk / ranges.count
                        let r = ranges[chunk % ranges.count]
                        GEMM.multiply(precise: precise, transA: true, m: cin, n: r.count, k: cout, a: wb, lda: cin,
                                      b: gb + n * cout * s + r.lowerBound, ldb: s, beta: 0, c: xb + n * cin * s + r.lowerBound, ldc: s)
                    }
                }
            }
        }
        return dX
    }
}

extension Im2col {
    /// `fill3` for one channel plane as a convolution over `src` sees it (read through 2x
    /// nearest upsampling when `upsampled`): each input line is copied once, zero-padded, into
    /// `line` (width + 2 floats), and its three width shifts go to the kw taps.
    static func fill3(_ src: ChannelSources, _ plane: UnsafePointer<Float>, upsampled: Bool, rows: Range<Int>,
                      line: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, rowStride: Int) {
        let (depth, height, width) = (src.depth, src.height, src.width)
        line[0] = 0
        line[width + 1] = 0
        for kd in 0..<3 {
            for kh in 0..<3 {
                let tap = dst + (kd * 9 + kh * 3) * rowStride
                var offset = 0
                for r in rows {
                    let sd = r / height + kd - 1
                    let sh = r % height + kh - 1
                    if sd < 0 || sd >= depth || sh < 0 || sh >= height {
                        for kw in 0..<3 { (tap + kw * rowStride + offset).update(repeating: 0, count: width) }
                    } else {
                        src.copyLine(plane, upsampled: upsampled, d: sd, h: sh, into: line + 1)
                        for kw in 0..<3 { (tap + kw * rowStride + offset).update(from: line + kw, count: width) }
                    }
                    offset += width
                }
            }
        }
    }
}

import CBLAS

/// The 2-D Winograd convolution and its weight gradient when a sample has few tiles (the
/// coarse levels at batch 1: 8x8x4 is 16 tiles of F(4x4)). Splitting such a sample's planes
/// over the workers makes every worker pack the whole filter bank (the GEMM's A, cout x in) for
/// a handful of tile columns, and transform the halo planes twice: on two cores the deep
/// layers ran slower than on one. Here a sample is one chunk of all its planes; the workers
/// split its input transform over input channels and its GEMMs over the transform points,
/// which are independent: each filter matrix is packed once, by one worker, and each GEMM
/// gives the same bits whichever worker runs it.
extension Winograd2D {
    /// True when the plane-split path would leave the workers with fewer chunks than threads.
    static func prefersPointParallel(batch: Int, depth d: Int, minPlanes: Int, threads: Int) -> Bool {
        threads > 1 && batch * ((d + minPlanes - 1) / minPlanes) < threads
    }

    /// Transforms every plane of sample `n` (input channels split over the workers) into
    /// `v` ([point][in][stacked plane][tp], `stacked` = depth + 2 with a zero plane each side).
    static func transformAllPlanes(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], sample n: Int, th: Int, np: Int,
                                   into v: UnsafeMutablePointer<Float>, threads: Int) {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let tw = wd / 4, bandsPerPlane = h / th, tp = bandsPerPlane * tw
        let stacked = d + 2, pointStride = src.channels * stacked * tp
        let table = src.channelTable
        let lines = Scratch(workers: Parallel.workers(table.count, threads: threads), capacity: (wd + 2) + (h + 2) * 6 * tw)
        Parallel.forEach(table.count, threads: threads) { ci, worker in
            let line = lines.buffer(worker)
            transformStackedPlanes(src, ptrs, channel: ci, entry: table[ci], sample: n, firstPlane: 0, stacked: stacked,
                                   th: th, np: np, pointStride: pointStride, line: line, rows: line + wd + 2, into: v)
        }
    }

    /// The forward of `runPlaneStacked`, one sample at a time, split as above.
    func runPointParallel(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], _ b: UnsafePointer<Float>,
                          _ o: UnsafeMutablePointer<Float>, threads: Int) -> Bool {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let s = src.spatialCount
        let (cin, cout, k) = (inChannels, outChannels, inChannels * 3)
        let (th, np) = (heightTile, points)
        let tw = wd / 4, bandsPerPlane = h / th, tp = bandsPerPlane * tw
        let stacked = d + 2, tiles = d * tp, pointStride = cin * stacked * tp
        guard np * pointStride <= Winograd2D.stackedBudget else { return false }
        let scratch = Scratch(workers: 1, capacity: np * pointStride + np * cout * tiles + th * 6 * tiles)
        let v = scratch.buffer(0), m = v + np * pointStride, temp = m + np * cout * tiles
        filters.withUnsafeBufferPointer { fp in
            let u = fp.baseAddress!
            for n in 0..<src.batch {
                Self.transformAllPlanes(src, ptrs, sample: n, th: th, np: np, into: v, threads: threads)
                Parallel.forEach(np, threads: threads) { p, _ in
                    for kd in 0..<3 {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(tiles), Int32(cin),
                                    1, u + p * cout * k + kd * cin, Int32(k), v + p * pointStride + kd * tp, Int32(stacked * tp),
                                    kd == 0 ? 0 : 1, m + p * cout * tiles, Int32(tiles))
                    }
                }
                outputTransform(m, tiles: tiles, tw: tw, firstBand: 0, bandsPerPlane: bandsPerPlane, height: h,
                                width: wd, bias: b, temp: temp, into: o + n * cout * s, channelStride: s)
            }
        }
        return true
    }

    /// The weight gradient (`weightGradient`) split as above: per sample, the input transform
    /// over input channels, the output gradient's over output channels, and the GEMMs of each
    /// point (reducing over all the sample's tiles) over the points, into one accumulator.
    /// nil when the buffers would exceed `weightGradient`'s budgets.
    static func weightGradientPointParallel(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], outputGradient dY: UnsafePointer<Float>,
                                            outChannels cout: Int, heightTile th: Int, threads: Int) -> [Float]? {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let cin = src.channels, s = src.spatialCount, k = cin * 3
        let np = (th + 2) * 6, tw = wd / 4, bandsPerPlane = h / th, tp = bandsPerPlane * tw
        let stacked = d + 2, tiles = d * tp, pointStride = cin * stacked * tp, yStride = cout * tiles
        guard np * pointStride <= weightGradientInputBudget, np * cout * k <= weightGradientAccumulatorBudget else { return nil }
        let scratch = Scratch(workers: 1, capacity: np * pointStride + np * yStride + np * cout * k)
        let v = scratch.buffer(0), y = v + np * pointStride, acc = y + np * yStride
        let tmps = Scratch(workers: Parallel.workers(cout, threads: threads), capacity: th * 6 * 4)
        for n in 0..<src.batch {
            transformAllPlanes(src, ptrs, sample: n, th: th, np: np, into: v, threads: threads)
            Parallel.forEach(cout, threads: threads) { o, worker in
                transformOutputGradientPlanes(dY + (n * cout + o) * s, firstPlane: 0, count: d, height: h, width: wd,
                                              th: th, tmp: tmps.buffer(worker), into: y + o * tiles, stride: yStride)
            }
            Parallel.forEach(np, threads: threads) { p, _ in
                for kd in 0..<3 {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(cout), Int32(cin), Int32(tiles),
                                1, y + p * yStride, Int32(tiles), v + p * pointStride + kd * tp, Int32(stacked * tp),
                                n == 0 ? 0 : 1, acc + p * cout * k + kd * cin, Int32(k))
                }
            }
        }
        return finalTransform([UnsafePointer(acc)], outChannels: cout, inChannels: cin, heightTile: th, threads: threads)
    }
}

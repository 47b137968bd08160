import CBLAS

/// The weight gradient of a 3x3x3 convolution by the transposed 2-D Winograd identity.
///
/// The forward computes y = A^T [(G g G^T) . (B^T d B)] A per output tile (m x 4, F(m x 4,
/// 3x3)); being bilinear in g and d, the gradient of the loss with respect to the 3x3 taps g of
/// one (out, in, kd) is dg = G^T [(A dy A^T) . (B^T d B)] G, summed over tiles. So per point p
/// of the (m + 2) x 6 transform grid, M_p = sum over tiles of (A dY A^T)_p (B^T X B)_p^T is a
/// GEMM (out) x (tiles) times (tiles) x (in) reducing over tiles, one per depth tap kd with the
/// transformed input planes shifted by kd (as the forward's plane-stacked path), accumulated
/// per worker; the output transform G^T M G per (out, in, kd) runs once at the end, in Double.
/// Multiplications: (m + 2) x 6 per tile and (in, out, kd) instead of 9 m x 4 for im2col.
extension Winograd2D {
    /// Largest transformed-input buffer per worker, in floats (more planes per chunk: longer
    /// GEMM reductions).
    static let weightGradientInputBudget = 16 << 20

    /// Largest accumulator (points x out x in x 3 floats) of the point-parallel path (a lone
    /// sample: one accumulator, each point's GEMMs reducing over all its tiles). 24 Mi floats
    /// takes the official up_tr256's first layer at batch 1 (768 in, 256 out: 21 Mi, 85 MB),
    /// whose weight gradient then ran in 102-123 ms instead of 158-168 ms by the plane split
    /// with per-worker accumulators (BENCHMARKS.md "Training step").
    static let weightGradientAccumulatorBudget = 24 << 20

    /// dW (out, in, 3, 3, 3) for inputs `src` and output gradient `dY`, or nil when the shape
    /// does not tile, the accumulator or the transformed-input buffer would exceed its budget.
    static func weightGradient(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], outputGradient dY: UnsafePointer<Float>,
                               outChannels cout: Int, heightTile th: Int, tuning: ConvolutionTuning, threads: Int) -> [Float]? {
        let (d, h, wd) = (src.depth, src.height, src.width)
        guard h % th == 0, wd % 4 == 0 else { return nil }
        let cin = src.channels
        let s = src.spatialCount
        let np = (th + 2) * 6
        let tw = wd / 4
        let bandsPerPlane = h / th
        let tp = bandsPerPlane * tw
        // Whole planes per chunk, enough tiles for a long GEMM reduction.
        var planes = min(d, max(2, (8 * tuning.minTileColumns + tp - 1) / tp))
        while planes > 1 && np * cin * (planes + 2) * tp > weightGradientInputBudget { planes /= 2 }
        if prefersPointParallel(batch: src.batch, depth: d, minPlanes: planes, threads: threads),
           let dW = weightGradientPointParallel(src, ptrs, outputGradient: dY, outChannels: cout, heightTile: th, threads: threads) {
            return dW
        }
        if src.batch * ((d + planes - 1) / planes) < threads { planes = max(1, d / max(1, threads / src.batch)) }
        guard np * cin * (planes + 2) * tp <= weightGradientInputBudget else { return nil }
        let chunksPerSample = (d + planes - 1) / planes
        let chunks = src.batch * chunksPerSample
        let workers = Parallel.workers(chunks, threads: threads)
        let maxTiles = planes * tp
        let capacity = np * cin * (planes + 2) * tp + np * cout * maxTiles + (wd + 2) + (h + 2) * 6 * tw + th * 6 * 4
        let scratch = Scratch(workers: workers, capacity: capacity)
        let accumulators = Scratch(workers: workers, capacity: np * cout * cin * 3)
        let used = WorkerFlags(workers)
        let table = src.channelTable
        let k = cin * 3
        Parallel.forEach(chunks, threads: threads) { chunk, worker in
            let n = chunk / chunksPerSample
            let d0 = (chunk % chunksPerSample) * planes
            let count = min(d, d0 + planes) - d0
            let stacked = count + 2
            let tiles = count * tp
            let v = scratch.buffer(worker)                 // [point][in][stacked plane][tp]
            let pointStride = cin * stacked * tp
            let y = v + np * pointStride                   // [point][out][tiles]
            let line = y + np * cout * tiles
            let rows = line + wd + 2
            let tmp = rows + (h + 2) * 6 * tw
            for (ci, entry) in table.enumerated() {
                transformStackedPlanes(src, ptrs, channel: ci, entry: entry, sample: n, firstPlane: d0, stacked: stacked,
                                       th: th, np: np, pointStride: pointStride, line: line, rows: rows, into: v)
            }
            let yStride = cout * tiles
            for o in 0..<cout {
                transformOutputGradientPlanes(dY + (n * cout + o) * s, firstPlane: d0, count: count, height: h, width: wd,
                                              th: th, tmp: tmp, into: y + o * tiles, stride: yStride)
            }
            let acc = accumulators.buffer(worker)
            let first = used.claim(worker)
            for p in 0..<np {
                for kd in 0..<3 {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(cout), Int32(cin), Int32(tiles),
                                1, y + p * yStride, Int32(tiles), v + p * pointStride + kd * tp, Int32(stacked * tp),
                                first ? 0 : 1, acc + p * cout * k + kd * cin, Int32(k))
                }
            }
        }
        var usedWorkers: [Int] = []
        used.forEachUsed(workers) { usedWorkers.append($0) }
        return finalTransform(usedWorkers.map { UnsafePointer(accumulators.buffer($0)) }, outChannels: cout, inChannels: cin,
                              heightTile: th, threads: threads)
    }

    /// dW (out, in, 3, 3, 3) from the per-worker accumulators M ([point][out][kd * in + in]):
    /// their sum in Double, in the order given, then G_h^T M G_w per (out, in, kd).
    static func finalTransform(_ sources: [UnsafePointer<Float>], outChannels cout: Int, inChannels cin: Int, heightTile th: Int,
                               threads: Int) -> [Float] {
        let hp = th + 2, np = hp * 6, k = cin * 3
        // Per output channel (split over the workers; each owns its rows of dW): sum the
        // workers' M in Double, in worker order, then dW = G_h^T M G_w per (in, kd), separably
        // (first along width, then along height) and over all k = 3 x in columns at once.
        let gh = (th == 2 ? g2 : g4).flatMap { $0 }, gw = g4.flatMap { $0 }   // [point][tap]
        let plane = cout * k
        var dW = [Float](repeating: 0, count: cout * cin * 27)
        dW.withUnsafeMutableBufferPointer { dp in
            let dst = dp.baseAddress!
            Parallel.forEach(cout, threads: threads) { o, _ in
                var m = [Double](repeating: 0, count: np * k)      // [point][kd * in + in]
                var t = [Double](repeating: 0, count: hp * 3 * k)  // [ph][kw][column]
                var r = [Double](repeating: 0, count: 9 * k)       // [kh][kw][column]
                m.withUnsafeMutableBufferPointer { mp in
                    let m = mp.baseAddress!
                    for b in sources {
                        for p in 0..<np {
                            let from = b + p * plane + o * k, to = m + p * k
                            for j in 0..<k { to[j] += Double(from[j]) }
                        }
                    }
                    t.withUnsafeMutableBufferPointer { tp in
                        let t = tp.baseAddress!
                        for ph in 0..<hp {
                            for kw in 0..<3 {
                                let to = t + (ph * 3 + kw) * k
                                for pw in 0..<6 {
                                    let c = gw[pw * 3 + kw]
                                    guard c != 0 else { continue }
                                    let from = m + (ph * 6 + pw) * k
                                    for j in 0..<k { to[j] += c * from[j] }
                                }
                            }
                        }
                        r.withUnsafeMutableBufferPointer { rp in
                            let r = rp.baseAddress!
                            for kh in 0..<3 {
                                for kw in 0..<3 {
                                    let to = r + (kh * 3 + kw) * k
                                    for ph in 0..<hp {
                                        let c = gh[ph * 3 + kh]
                                        guard c != 0 else { continue }
                                        let from = t + (ph * 3 + kw) * k
                                        for j in 0..<k { to[j] += c * from[j] }
                                    }
                                }
                            }
                            for kd in 0..<3 {
                                for i in 0..<cin {
                                    let column = kd * cin + i
                                    let out = dst + ((o * cin + i) * 3 + kd) * 9
                                    for tap in 0..<9 { out[tap] = Float(r[tap * k + column]) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return dW
    }

    /// `outputGradientTransform` for four neighbouring tiles at once (see Vector4): point
    /// (ph, pw) of tile i goes to `dst + (ph * 6 + pw) * stride + i`; `tmp` holds th x 6 x 4
    /// floats.
    @inline(__always)
    static func outputGradientTransform4(_ tile: UnsafePointer<Float>, rowStride: Int, th: Int, tmp: UnsafeMutablePointer<Float>,
                                         into dst: UnsafeMutablePointer<Float>, stride: Int) {
        for r in 0..<th {
            let row = tile + r * rowStride
            let (a0, a1, a2, a3) = Vector4.transpose(Vector4.load(row), Vector4.load(row + 4), Vector4.load(row + 8), Vector4.load(row + 12))
            let t = tmp + r * 24
            Vector4.store(a0, t)
            Vector4.store(a0 + a1 + a2 + a3, t + 4)
            Vector4.store(a0 - a1 + a2 - a3, t + 8)
            Vector4.store(a0 + 2 * a1 + 4 * a2 + 8 * a3, t + 12)
            Vector4.store(a0 - 2 * a1 + 4 * a2 - 8 * a3, t + 16)
            Vector4.store(a3, t + 20)
        }
        for pw in 0..<6 {
            let c = { (r: Int) in Vector4.load(tmp + r * 24 + pw * 4) }
            if th == 2 {
                let (c0, c1) = (c(0), c(1))
                Vector4.store(c0, dst + pw * stride)
                Vector4.store(c0 + c1, dst + (6 + pw) * stride)
                Vector4.store(c0 - c1, dst + (12 + pw) * stride)
                Vector4.store(-c1, dst + (18 + pw) * stride)
            } else {
                let (c0, c1, c2, c3) = (c(0), c(1), c(2), c(3))
                Vector4.store(c0, dst + pw * stride)
                Vector4.store(c0 + c1 + c2 + c3, dst + (6 + pw) * stride)
                Vector4.store(c0 - c1 + c2 - c3, dst + (12 + pw) * stride)
                Vector4.store(c0 + 2 * c1 + 4 * c2 + 8 * c3, dst + (18 + pw) * stride)
                Vector4.store(c0 - 2 * c1 + 4 * c2 - 8 * c3, dst + (24 + pw) * stride)
                Vector4.store(c3, dst + (30 + pw) * stride)
            }
        }
    }

    /// A dy A^T for one th x 4 tile of the output gradient (rows `rowStride` apart): F(4, 3)'s
    /// A (6 x 4) along width, F(th, 3)'s along height; point (ph, pw) goes to
    /// `dst + (ph * 6 + pw) * stride`.
    @inline(__always)
    static func outputGradientTransform(_ tile: UnsafePointer<Float>, rowStride: Int, th: Int, tmp: UnsafeMutablePointer<Float>,
                                        into dst: UnsafeMutablePointer<Float>, stride: Int) {
        for r in 0..<th {
            let row = tile + r * rowStride
            let (a0, a1, a2, a3) = (row[0], row[1], row[2], row[3])
            let t = tmp + r * 6
            t[0] = a0
            t[1] = a0 + a1 + a2 + a3
            t[2] = a0 - a1 + a2 - a3
            t[3] = a0 + 2 * a1 + 4 * a2 + 8 * a3
            t[4] = a0 - 2 * a1 + 4 * a2 - 8 * a3
            t[5] = a3
        }
        for pw in 0..<6 {
            if th == 2 {
                let (c0, c1) = (tmp[pw], tmp[6 + pw])
                dst[pw * stride] = c0
                dst[(6 + pw) * stride] = c0 + c1
                dst[(12 + pw) * stride] = c0 - c1
                dst[(18 + pw) * stride] = -c1
            } else {
                let (c0, c1, c2, c3) = (tmp[pw], tmp[6 + pw], tmp[12 + pw], tmp[18 + pw])
                dst[pw * stride] = c0
                dst[(6 + pw) * stride] = c0 + c1 + c2 + c3
                dst[(12 + pw) * stride] = c0 - c1 + c2 - c3
                dst[(18 + pw) * stride] = c0 + 2 * c1 + 4 * c2 + 8 * c3
                dst[(24 + pw) * stride] = c0 - 2 * c1 + 4 * c2 - 8 * c3
                dst[(30 + pw) * stride] = c3
            }
        }
    }
}

import CBLAS

/// 3x3x3 convolution with height and width done by 2-D Winograd F(m x 4, 3x3): F(m, 3) along
/// height (m = 2 or 4) nested with F(4, 3) along width (Lavin & Gray 2016). An m x 4 output
/// tile costs (m + 2) x 6 multiplications per (in, kd) instead of 9 m x 4: a third of im2col's
/// GEMM work for m = 2, a quarter for m = 4. Depth taps stay in the GEMM's reduction
/// (K = in * 3). Needs height % m == 0 and width % 4 == 0.
struct Winograd2D: Sendable {
    /// Output rows per tile (2 or 4) and transform points along height (m + 2).
    let heightTile: Int
    let heightPoints: Int
    /// (m + 2) * 6 matrices of (out) x (in * 3), point p = ih * 6 + iw, K index = kd * in + in
    /// (so the columns of one depth tap are contiguous: the plane-stacked path multiplies them
    /// separately).
    let filters: [Float]
    let inChannels: Int
    let outChannels: Int

    var points: Int { heightPoints * 6 }

    /// Filter transform rows G of F(2, 3) and F(4, 3).
    static let g2: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
    static let g4: [[Double]] = [[0.25, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                                 [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]]

    /// Transforms PyTorch-layout (out, in, 3, 3, 3) weights: U = G_h g G_w^T per (out, in, kd),
    /// in Double, rounded once; output channels are split over the cores.
    init(weight: [Float], outChannels: Int, inChannels: Int, heightTile: Int) {
        precondition(heightTile == 2 || heightTile == 4, "height tile must be 2 or 4")
        let hp = heightTile + 2
        let k = inChannels * 3
        let plane = outChannels * k
        // Every element is written below: (hp * 6) points x out x (in * 3).
        let u = [Float](unsafeUninitializedCapacity: hp * 6 * plane) { buf, count in
            let dst = buf.baseAddress!
            weight.withUnsafeBufferPointer { w in
                Parallel.forEach(outChannels, threads: Parallel.defaultThreads) { o, _ in
                    // Blocks of 64 input channels: their (hp * 6) transformed values are
                    // gathered in `tile` and written as hp * 6 contiguous runs (one per point),
                    // instead of hp * 6 writes a whole plane apart for every (in, kd).
                    let block = 64
                    var t = [Double](repeating: 0, count: 3 * hp), row = [Double](repeating: 0, count: 18)
                    var tile = [Float](repeating: 0, count: hp * 6 * block)
                    tile.withUnsafeMutableBufferPointer { tp in
                        let tb = tp.baseAddress!
                        for kd in 0..<3 {
                            var i0 = 0
                            while i0 < inChannels {
                                let nb = min(block, inChannels - i0)
                                for ii in 0..<nb {
                                    let gp = w.baseAddress! + ((o * inChannels + i0 + ii) * 3 + kd) * 9
                                    // t = G_h g (hp x 3): the height transform of each kw column.
                                    for kw in 0..<3 {
                                        let (a, b, c) = (Double(gp[kw]), Double(gp[3 + kw]), Double(gp[6 + kw]))
                                        if heightTile == 2 { Self.transform2(a, b, c, into: &t, at: kw) } else { Self.transform4(a, b, c, into: &t, at: kw) }
                                    }
                                    // U = t G_w^T (hp x 6): the width transform of each row of t.
                                    for ih in 0..<hp {
                                        Self.transform4(t[ih * 3], t[ih * 3 + 1], t[ih * 3 + 2], into: &row, at: 0)
                                        for iw in 0..<6 { tb[(ih * 6 + iw) * block + ii] = Float(row[iw * 3]) }
                                    }
                                }
                                let column = o * k + kd * inChannels + i0
                                for p in 0..<(hp * 6) { (dst + p * plane + column).update(from: tb + p * block, count: nb) }
                                i0 += nb
                            }
                        }
                    }
                }
            }
            count = hp * 6 * plane
        }
        filters = u
        self.heightTile = heightTile
        heightPoints = hp
        self.inChannels = inChannels
        self.outChannels = outChannels
    }

    /// G g for F(4, 3) (the rows of `g4`), written out so that only non-zero coefficients
    /// multiply (an infinite weight stays infinite instead of 0 x inf = NaN): point p goes to
    /// `out[3 p + at]`.
    @inline(__always)
    static func transform4(_ a: Double, _ b: Double, _ c: Double, into out: inout [Double], at: Int) {
        // Multiplications by the reciprocals (Double, rounded once to Float by the caller):
        // the divisions by 6, 12 and 24 were most of the filter transform's time.
        let sixth = 1.0 / 6, twelfth = 1.0 / 12, twentyFourth = 1.0 / 24
        out[at] = a * 0.25
        out[3 + at] = -(a + b + c) * sixth
        out[6 + at] = -(a - b + c) * sixth
        out[9 + at] = a * twentyFourth + b * twelfth + c * sixth
        out[12 + at] = a * twentyFourth - b * twelfth + c * sixth
        out[15 + at] = c
    }

    /// G g for F(2, 3) (the rows of `g2`), as `transform4`.
    @inline(__always)
    static func transform2(_ a: Double, _ b: Double, _ c: Double, into out: inout [Double], at: Int) {
        out[at] = a
        out[3 + at] = (a + b + c) / 2
        out[6 + at] = (a - b + c) / 2
        out[9 + at] = c
    }

    /// True when a sample of this shape tiles by m = `heightTile` and has at least `minTiles`
    /// output tiles.
    static func fits(heightTile: Int, depth: Int, height: Int, width: Int, minTiles: Int) -> Bool {
        height % heightTile == 0 && width % 4 == 0 && depth * (height / heightTile) * (width / 4) >= minTiles
    }

    /// Largest transformed-input buffer per worker for the plane-stacked path, in floats.
    static let stackedBudget = 8 << 20

    func run(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], _ b: UnsafePointer<Float>,
             _ o: UnsafeMutablePointer<Float>, tuning: ConvolutionTuning, threads: Int) {
        if tuning.planeStacking, runPlaneStacked(src, ptrs, b, o, tuning: tuning, threads: threads) { return }
        runBanded(src, ptrs, b, o, tuning: tuning, threads: threads)
    }

    /// Whole output planes per chunk. Each input plane is transformed once per chunk (not once
    /// per depth tap): the transformed planes d0-1 ... d1 sit in one buffer, and each depth tap
    /// kd is a GEMM (K = in) whose B is that buffer shifted by kd planes, accumulating into the
    /// same product. Returns false (doing nothing) when the buffer would exceed the budget.
    func runPlaneStacked(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], _ b: UnsafePointer<Float>,
                         _ o: UnsafeMutablePointer<Float>, tuning: ConvolutionTuning, threads: Int) -> Bool {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let s = src.spatialCount
        let (cin, cout, k) = (inChannels, outChannels, inChannels * 3)
        let (th, np) = (heightTile, points)
        let tw = wd / 4
        let bandsPerPlane = h / th
        let tp = bandsPerPlane * tw                       // tiles per plane
        var planes = min(d, max(2, (tuning.minTileColumns + tp - 1) / tp))
        if Self.prefersPointParallel(batch: src.batch, depth: d, minPlanes: planes, threads: threads),
           runPointParallel(src, ptrs, b, o, threads: threads) { return true }
        if src.batch * ((d + planes - 1) / planes) < threads { planes = max(1, d / max(1, threads / src.batch)) }
        guard np * cin * (planes + 2) * tp <= Winograd2D.stackedBudget else { return false }
        let chunksPerSample = (d + planes - 1) / planes
        let chunks = src.batch * chunksPerSample
        let maxTiles = planes * tp
        let capacity = np * cin * (planes + 2) * tp + np * cout * maxTiles + (wd + 2) + (h + 2) * 6 * tw + th * 6 * maxTiles
        let scratch = Scratch(workers: Parallel.workers(chunks, threads: threads), capacity: capacity)
        let table = src.channelTable
        filters.withUnsafeBufferPointer { fp in
            let u = fp.baseAddress!
            Parallel.forEach(chunks, threads: threads) { chunk, worker in
                let n = chunk / chunksPerSample
                let d0 = (chunk % chunksPerSample) * planes
                let count = min(d, d0 + planes) - d0
                let stacked = count + 2
                let tiles = count * tp
                let v = scratch.buffer(worker)                 // [point][in][stacked plane][tp]
                let pointStride = cin * stacked * tp
                let m = v + np * pointStride
                let line = m + np * cout * tiles
                let rows = line + wd + 2
                let temp = rows + (h + 2) * 6 * tw
                for (ci, entry) in table.enumerated() {
                    Winograd2D.transformStackedPlanes(src, ptrs, channel: ci, entry: entry, sample: n, firstPlane: d0, stacked: stacked,
                                                      th: th, np: np, pointStride: pointStride, line: line, rows: rows, into: v)
                }
                for p in 0..<np {
                    for kd in 0..<3 {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(tiles), Int32(cin),
                                    1, u + p * cout * k + kd * cin, Int32(k), v + p * pointStride + kd * tp, Int32(stacked * tp),
                                    kd == 0 ? 0 : 1, m + p * cout * tiles, Int32(tiles))
                    }
                }
                outputTransform(m, tiles: tiles, tw: tw, firstBand: d0 * bandsPerPlane, bandsPerPlane: bandsPerPlane, height: h,
                                width: wd, bias: b, temp: temp, into: o + n * cout * s, channelStride: s)
            }
        }
        return true
    }

    /// Runs of bands (m output rows each) per chunk; every depth tap in the GEMM's reduction.
    func runBanded(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], _ b: UnsafePointer<Float>,
                   _ o: UnsafeMutablePointer<Float>, tuning: ConvolutionTuning, threads: Int) {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let s = src.spatialCount
        let k = inChannels * 3
        let cout = outChannels
        let (th, np) = (heightTile, points)
        let tw = wd / 4
        let bandsPerPlane = h / th
        let bandsTotal = d * bandsPerPlane
        let byBudget = max(1, tuning.tileFloats / (np * k * tw))
        let byWidth = (tuning.minTileColumns + tw - 1) / tw
        var bandsPerChunk = min(bandsTotal, max(byBudget, byWidth))
        if src.batch * ((bandsTotal + bandsPerChunk - 1) / bandsPerChunk) < threads {
            bandsPerChunk = max(1, bandsTotal / max(1, threads / src.batch))
        }
        let chunksPerSample = (bandsTotal + bandsPerChunk - 1) / bandsPerChunk
        let chunks = src.batch * chunksPerSample
        let maxTiles = bandsPerChunk * tw
        let extra = (wd + 2) + (h + 2) * 6 * tw + th * 6 * maxTiles
        let scratch = Scratch(workers: Parallel.workers(chunks, threads: threads), capacity: np * maxTiles * (k + cout) + extra)
        let table = src.channelTable
        filters.withUnsafeBufferPointer { fp in
            let u = fp.baseAddress!
            Parallel.forEach(chunks, threads: threads) { chunk, worker in
                let n = chunk / chunksPerSample
                let b0 = (chunk % chunksPerSample) * bandsPerChunk
                let b1 = min(bandsTotal, b0 + bandsPerChunk)
                let tiles = (b1 - b0) * tw
                let v = scratch.buffer(worker)
                let m = v + np * k * tiles
                let line = m + np * cout * tiles        // one zero-padded input line
                let rows = line + wd + 2                 // width-transformed lines [line][iw][q]
                let temp = rows + (h + 2) * 6 * tw
                let vStride = k * tiles
                for (ci, entry) in table.enumerated() {
                    let planeBase = src.plane(ptrs, entry, sample: n)
                    let up = src.upsampled[entry.source]
                    for kd in 0..<3 {
                        // The chunk's bands one output plane (segment) at a time: each input
                        // line is width-transformed once per segment.
                        var band = b0
                        while band < b1 {
                            let plane = band / bandsPerPlane
                            let first = band % bandsPerPlane
                            let count = min(b1 - band, bandsPerPlane - first)
                            let col = (kd * inChannels + ci) * tiles + (band - b0) * tw
                            let sd = plane + kd - 1
                            if sd < 0 || sd >= d {
                                for p in 0..<np { (v + p * vStride + col).update(repeating: 0, count: count * tw) }
                            } else {
                                Winograd2D.widthTransformLines(src, planeBase, upsampled: up, d: sd, firstRow: th * first - 1,
                                                               count: th * count + 2, height: h, width: wd, tw: tw, line: line, into: rows)
                                Winograd2D.heightTransformBands(rows, bands: count, th: th, tw: tw, into: v + col, stride: vStride)
                            }
                            band += count
                        }
                    }
                }
                for p in 0..<np {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(tiles), Int32(k),
                                1, u + p * cout * k, Int32(k), v + p * vStride, Int32(tiles), 0, m + p * cout * tiles, Int32(tiles))
                }
                outputTransform(m, tiles: tiles, tw: tw, firstBand: b0, bandsPerPlane: bandsPerPlane, height: h, width: wd,
                                bias: b, temp: temp, into: o + n * cout * s, channelStride: s)
            }
        }
    }
}

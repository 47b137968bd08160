import CBLAS

/// 3x3x3 convolution with the width axis done by Winograd's minimal filtering F(4, 3)
/// (Lavin & Gray 2016, 1-D): each run of 4 outputs along width costs 6 multiplications per
/// (kd, kh) tap instead of 12, so the GEMM work is half that of im2col. Depth and height taps
/// stay in the GEMM's reduction (K = in * 9).
///
/// Per chunk of output rows: the input transform V_i = B^T d (i = 0..5, d = 6 consecutive
/// inputs along width) fills six (in * 9) x tiles matrices; six GEMMs M_i = U_i V_i with the
/// transformed filters U_i = (G g)_i; the output transform A^T m gives 4 outputs per tile.
struct WinogradF43: Sendable {
    static let points = 6
    /// Six (out) x (in * 9) matrices, K index = in * 9 + kd * 3 + kh.
    let filters: [Float]
    let inChannels: Int
    let outChannels: Int

    /// Transforms PyTorch-layout (out, in, 3, 3, 3) weights (in Double, then rounded once).
    init(weight: [Float], outChannels: Int, inChannels: Int) {
        let k = inChannels * 9
        let plane = outChannels * k
        var u = [Float](repeating: 0, count: 6 * plane)
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for t in 0..<9 {
                    let base = ((o * inChannels + i) * 9 + t) * 3
                    let (g0, g1, g2) = (Double(weight[base]), Double(weight[base + 1]), Double(weight[base + 2]))
                    let at = o * k + i * 9 + t
                    u[at] = Float(g0 / 4)
                    u[plane + at] = Float(-(g0 + g1 + g2) / 6)
                    u[2 * plane + at] = Float(-(g0 - g1 + g2) / 6)
                    u[3 * plane + at] = Float(g0 / 24 + g1 / 12 + g2 / 6)
                    u[4 * plane + at] = Float(g0 / 24 - g1 / 12 + g2 / 6)
                    u[5 * plane + at] = Float(g2)
                }
            }
        }
        filters = u
        self.inChannels = inChannels
        self.outChannels = outChannels
    }

    /// Whether a map of this width can be tiled (width a multiple of 4).
    static func fits(width: Int) -> Bool { width % 4 == 0 }

    func run(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], _ b: UnsafePointer<Float>,
             _ o: UnsafeMutablePointer<Float>, tuning: ConvolutionTuning, threads: Int) {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let s = src.spatialCount
        let k = inChannels * 9
        let cout = outChannels
        let tilesPerRow = wd / 4
        let rowsTotal = d * h
        let rowsByBudget = max(1, tuning.tileFloats / (6 * k * tilesPerRow))
        let rowsByWidth = (tuning.minTileColumns + tilesPerRow - 1) / tilesPerRow
        var rowsPerChunk = min(rowsTotal, max(rowsByBudget, rowsByWidth))
        if src.batch * ((rowsTotal + rowsPerChunk - 1) / rowsPerChunk) < threads {
            rowsPerChunk = max(1, rowsTotal / max(1, threads / src.batch))
        }
        let chunksPerSample = (rowsTotal + rowsPerChunk - 1) / rowsPerChunk
        let chunks = src.batch * chunksPerSample
        let maxTiles = rowsPerChunk * tilesPerRow
        let scratch = Scratch(workers: Parallel.workers(chunks, threads: threads),
                              capacity: 6 * maxTiles * (k + cout) + wd + 2)
        let table = src.channelTable
        filters.withUnsafeBufferPointer { fp in
            let u = fp.baseAddress!
            Parallel.forEach(chunks, threads: threads) { chunk, worker in
                let n = chunk / chunksPerSample
                let r0 = (chunk % chunksPerSample) * rowsPerChunk
                let r1 = min(rowsTotal, r0 + rowsPerChunk)
                let tiles = (r1 - r0) * tilesPerRow
                let v = scratch.buffer(worker)
                let m = v + 6 * k * tiles
                let line = m + 6 * cout * tiles
                let vStride = k * tiles
                for (ci, entry) in table.enumerated() {
                    let planeBase = src.plane(ptrs, entry, sample: n)
                    let up = src.upsampled[entry.source]
                    for tap in 0..<9 {
                        let (kd, kh) = (tap / 3, tap % 3)
                        var dst = v + (ci * 9 + tap) * tiles
                        for r in r0..<r1 {
                            let sd = r / h + kd - 1, sh = r % h + kh - 1
                            if sd < 0 || sd >= d || sh < 0 || sh >= h {
                                for i in 0..<6 { (dst + i * vStride).update(repeating: 0, count: tilesPerRow) }
                            } else {
                                line[0] = 0
                                src.copyLine(planeBase, upsampled: up, d: sd, h: sh, into: line + 1)
                                line[wd + 1] = 0
                                WinogradF43.inputTransform(line, tiles: tilesPerRow, into: dst, stride: vStride)
                            }
                            dst += tilesPerRow
                        }
                    }
                }
                for i in 0..<6 {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(tiles), Int32(k),
                                1, u + i * cout * k, Int32(k), v + i * vStride, Int32(tiles), 0, m + i * cout * tiles, Int32(tiles))
                }
                let outBase = o + n * cout * s + r0 * wd
                WinogradF43.outputTransform(m, outChannels: cout, tiles: tiles, bias: b, into: outBase, channelStride: s)
            }
        }
    }

    /// B^T d for every tile of a zero-padded line (`line[4q + j]` = d_j of tile q); point i
    /// goes to `dst + i * stride + q`.
    @inline(__always)
    static func inputTransform(_ line: UnsafePointer<Float>, tiles: Int, into dst: UnsafeMutablePointer<Float>, stride: Int) {
        let (v0, v1, v2, v3, v4, v5) = (dst, dst + stride, dst + 2 * stride, dst + 3 * stride, dst + 4 * stride, dst + 5 * stride)
        // Four tiles at once (see Vector4): d_j of tiles q ..< q + 4 is column j of the 4x4
        // block line[4q ..< 4q + 16]; d_4 and d_5 reach two floats into the next block (the
        // line's last two floats for the last tiles: nothing past the line is read).
        var q = 0
        while q + 4 <= tiles {
            let p = line + 4 * q
            let (l0, l1, l2, l3) = (Vector4.load(p), Vector4.load(p + 4), Vector4.load(p + 8), Vector4.load(p + 12))
            let (d0, d1, d2, d3) = Vector4.transpose(l0, l1, l2, l3)
            let d4 = Vector4.V(l1[0], l2[0], l3[0], p[16])
            let d5 = Vector4.V(l1[1], l2[1], l3[1], p[17])
            let (b0, b1, b2, b3, b4, b5) = inputPoints(d0, d1, d2, d3, d4, d5)
            Vector4.store(b0, v0 + q)
            Vector4.store(b1, v1 + q)
            Vector4.store(b2, v2 + q)
            Vector4.store(b3, v3 + q)
            Vector4.store(b4, v4 + q)
            Vector4.store(b5, v5 + q)
            q += 4
        }
        for q in q..<tiles {
            let p = line + 4 * q
            (v0[q], v1[q], v2[q], v3[q], v4[q], v5[q]) = inputPoints(p[0], p[1], p[2], p[3], p[4], p[5])
        }
    }

    /// A^T m plus bias: tile q of channel row c yields outputs 4q ... 4q+3 of that row.
    static func outputTransform(_ m: UnsafePointer<Float>, outChannels: Int, tiles: Int, bias: UnsafePointer<Float>,
                                into out: UnsafeMutablePointer<Float>, channelStride: Int) {
        let stride = outChannels * tiles
        for c in 0..<outChannels {
            let row = c * tiles
            let (m0, m1, m2) = (m + row, m + stride + row, m + 2 * stride + row)
            let (m3, m4, m5) = (m + 3 * stride + row, m + 4 * stride + row, m + 5 * stride + row)
            let y = out + c * channelStride
            let bv = bias[c]
            for q in 0..<tiles {
                let (a, b) = (m1[q] + m2[q], m1[q] - m2[q])
                let (e, f) = (m3[q] + m4[q], m3[q] - m4[q])
                y[4 * q] = m0[q] + a + e + bv
                y[4 * q + 1] = b + 2 * f + bv
                y[4 * q + 2] = a + 4 * e + bv
                y[4 * q + 3] = b + 8 * f + m5[q] + bv
            }
        }
    }
}

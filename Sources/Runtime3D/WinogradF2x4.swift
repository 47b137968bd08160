import CBLAS

/// 3x3x3 convolution with height and width done by 2-D Winograd F(2x4, 3x3): F(2, 3) along
/// height nested with F(4, 3) along width. A 2 x 4 output tile costs 4 x 6 = 24 multiplications
/// per (in, kd) instead of 72, a third of im2col's GEMM work. Depth taps stay in the GEMM's
/// reduction (K = in * 3). Needs height % 2 == 0 and width % 4 == 0.
struct WinogradF2x4: Sendable {
    static let points = 24  // point p = ih * 6 + iw
    /// 24 (out) x (in * 3) matrices, K index = in * 3 + kd.
    let filters: [Float]
    let inChannels: Int
    let outChannels: Int

    /// F(2, 3) filter transform rows, and F(4, 3)'s (WinogradF43).
    static let gh: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
    static let gw: [[Double]] = [[0.25, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                                 [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]]

    init(weight: [Float], outChannels: Int, inChannels: Int) {
        let k = inChannels * 3
        let plane = outChannels * k
        var u = [Float](repeating: 0, count: 24 * plane)
        for o in 0..<outChannels {
            for i in 0..<inChannels {
                for kd in 0..<3 {
                    let base = ((o * inChannels + i) * 3 + kd) * 9
                    for ih in 0..<4 {
                        for iw in 0..<6 {
                            var acc = 0.0
                            for kh in 0..<3 where WinogradF2x4.gh[ih][kh] != 0 {
                                for kw in 0..<3 where WinogradF2x4.gw[iw][kw] != 0 {
                                    acc += WinogradF2x4.gh[ih][kh] * WinogradF2x4.gw[iw][kw] * Double(weight[base + kh * 3 + kw])
                                }
                            }
                            u[(ih * 6 + iw) * plane + o * k + i * 3 + kd] = Float(acc)
                        }
                    }
                }
            }
        }
        filters = u
        self.inChannels = inChannels
        self.outChannels = outChannels
    }

    static func fits(height: Int, width: Int) -> Bool { height % 2 == 0 && width % 4 == 0 }

    func run(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], _ b: UnsafePointer<Float>,
             _ o: UnsafeMutablePointer<Float>, threads: Int) {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let s = src.spatialCount
        let k = inChannels * 3
        let cout = outChannels
        let tw = wd / 4
        let pairsPerPlane = h / 2
        let pairsTotal = d * pairsPerPlane
        let byBudget = max(1, Conv3D.tileFloats / (24 * k * tw))
        let byWidth = (Conv3D.minTileColumns + tw - 1) / tw
        var pairsPerChunk = min(pairsTotal, max(byBudget, byWidth))
        if src.batch * ((pairsTotal + pairsPerChunk - 1) / pairsPerChunk) < threads {
            pairsPerChunk = max(1, pairsTotal / max(1, threads / src.batch))
        }
        let chunksPerSample = (pairsTotal + pairsPerChunk - 1) / pairsPerChunk
        let chunks = src.batch * chunksPerSample
        let maxTiles = pairsPerChunk * tw
        let lineFloats = (wd + 2) + (h + 2) * 6 * tw + 12 * maxTiles
        let scratch = Scratch(workers: Parallel.workers(chunks, threads: threads),
                              capacity: 24 * maxTiles * (k + cout) + lineFloats)
        let table = src.channelTable
        filters.withUnsafeBufferPointer { fp in
            let u = fp.baseAddress!
            Parallel.forEach(chunks, threads: threads) { chunk, worker in
                let n = chunk / chunksPerSample
                let p0 = (chunk % chunksPerSample) * pairsPerChunk
                let p1 = min(pairsTotal, p0 + pairsPerChunk)
                let tiles = (p1 - p0) * tw
                let v = scratch.buffer(worker)
                let m = v + 24 * k * tiles
                let line = m + 24 * cout * tiles         // one zero-padded input line
                let rows = line + wd + 2                  // width-transformed lines [line][iw][q]
                let temp = rows + (h + 2) * 6 * tw
                let vStride = k * tiles
                for (ci, entry) in table.enumerated() {
                    let planeBase = src.plane(ptrs, entry, sample: n)
                    let up = src.upsampled[entry.source]
                    for kd in 0..<3 {
                        // The chunk's pairs, one output plane (segment) at a time: each input
                        // line is width-transformed once per segment, not once per pair.
                        var pair = p0
                        while pair < p1 {
                            let plane = pair / pairsPerPlane
                            let first = pair % pairsPerPlane
                            let count = min(p1 - pair, pairsPerPlane - first)
                            let col = (ci * 3 + kd) * tiles + (pair - p0) * tw
                            let sd = plane + kd - 1
                            if sd < 0 || sd >= d {
                                for p in 0..<24 { (v + p * vStride + col).update(repeating: 0, count: count * tw) }
                            } else {
                                line[0] = 0
                                line[wd + 1] = 0
                                for j in 0..<(2 * count + 2) {
                                    let sh = 2 * first - 1 + j
                                    if sh < 0 || sh >= h {
                                        (line + 1).update(repeating: 0, count: wd)
                                    } else {
                                        src.copyLine(planeBase, upsampled: up, d: sd, h: sh, into: line + 1)
                                    }
                                    WinogradF43.inputTransform(line, tiles: tw, into: rows + j * 6 * tw, stride: tw)
                                }
                                for i in 0..<count {
                                    WinogradF2x4.heightTransform(rows + 2 * i * 6 * tw, tw: tw, into: v + col + i * tw, stride: vStride)
                                }
                            }
                            pair += count
                        }
                    }
                }
                for p in 0..<24 {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(tiles), Int32(k),
                                1, u + p * cout * k, Int32(k), v + p * vStride, Int32(tiles), 0, m + p * cout * tiles, Int32(tiles))
                }
                WinogradF2x4.outputTransform(m, outChannels: cout, tiles: tiles, tw: tw, firstPair: p0,
                                             pairsPerPlane: pairsPerPlane, height: h, width: wd, bias: b, temp: temp,
                                             into: o + n * cout * s, channelStride: s)
            }
        }
    }

    /// F(2, 3)'s B^T down the 4 width-transformed rows: point (ih, iw) of tile q goes to
    /// `dst + (ih * 6 + iw) * stride + q`.
    @inline(__always)
    static func heightTransform(_ rows: UnsafePointer<Float>, tw: Int, into dst: UnsafeMutablePointer<Float>, stride: Int) {
        let rowStride = 6 * tw
        for iw in 0..<6 {
            let (r0, r1, r2, r3) = (rows + iw * tw, rows + rowStride + iw * tw, rows + 2 * rowStride + iw * tw, rows + 3 * rowStride + iw * tw)
            let (v0, v1) = (dst + iw * stride, dst + (6 + iw) * stride)
            let (v2, v3) = (dst + (12 + iw) * stride, dst + (18 + iw) * stride)
            for q in 0..<tw {
                v0[q] = r0[q] - r2[q]
                v1[q] = r1[q] + r2[q]
                v2[q] = r2[q] - r1[q]
                v3[q] = r1[q] - r3[q]
            }
        }
    }

    /// A^T m A (F(2, 3) along height, then F(4, 3) along width) plus bias, into the output
    /// planes; `temp` holds 12 x tiles floats (the two height outputs of the 6 width points).
    static func outputTransform(_ m: UnsafePointer<Float>, outChannels: Int, tiles: Int, tw: Int, firstPair: Int,
                                pairsPerPlane: Int, height: Int, width: Int, bias: UnsafePointer<Float>,
                                temp: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, channelStride: Int) {
        let stride = outChannels * tiles
        for c in 0..<outChannels {
            let base = m + c * tiles
            for iw in 0..<6 {
                let (a0, a1) = (base + iw * stride, base + (6 + iw) * stride)
                let (a2, a3) = (base + (12 + iw) * stride, base + (18 + iw) * stride)
                let (top, bottom) = (temp + iw * tiles, temp + (6 + iw) * tiles)
                for t in 0..<tiles {
                    top[t] = a0[t] + a1[t] + a2[t]
                    bottom[t] = a1[t] - a2[t] - a3[t]
                }
            }
            let bv = bias[c]
            let plane = out + c * channelStride
            for r in 0..<2 {
                let mm = temp + r * 6 * tiles
                for t in 0..<tiles {
                    let pair = firstPair + t / tw
                    let row = plane + (pair / pairsPerPlane) * height * width + (2 * (pair % pairsPerPlane) + r) * width + 4 * (t % tw)
                    let (m1, m2, m3, m4) = (mm[tiles + t], mm[2 * tiles + t], mm[3 * tiles + t], mm[4 * tiles + t])
                    let (a, b2) = (m1 + m2, m1 - m2)
                    let (e, f) = (m3 + m4, m3 - m4)
                    row[0] = mm[t] + a + e + bv
                    row[1] = b2 + 2 * f + bv
                    row[2] = a + 4 * e + bv
                    row[3] = b2 + 8 * f + mm[5 * tiles + t] + bv
                }
            }
        }
    }
}

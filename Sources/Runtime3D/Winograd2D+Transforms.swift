/// The input transform B^T d B of the 2-D Winograd convolution (width first, then height, four
/// tiles at a time where they fit) and the output transform A^T M A plus bias.
extension Winograd2D {
    /// Input rows `firstRow ..< firstRow + count` of plane `d` (rows outside 0..<height are the
    /// zero padding), each zero-padded on both sides in `line` and width-transformed into
    /// `rows` (6 * tw values per row).
    @inline(__always)
    static func widthTransformLines(_ src: ChannelSources, _ plane: UnsafePointer<Float>, upsampled up: Bool, d: Int, firstRow: Int, count: Int,
                                    height h: Int, width wd: Int, tw: Int, line: UnsafeMutablePointer<Float>, into rows: UnsafeMutablePointer<Float>) {
        line[0] = 0
        line[wd + 1] = 0
        for j in 0..<count {
            let sh = firstRow + j
            if sh < 0 || sh >= h {
                (line + 1).update(repeating: 0, count: wd)
            } else {
                src.copyLine(plane, upsampled: up, d: d, h: sh, into: line + 1)
            }
            WinogradF43.inputTransform(line, tiles: tw, into: rows + j * 6 * tw, stride: tw)
        }
    }

    /// Height-transforms `bands` consecutive bands of `th` output rows from width-transformed
    /// `rows`, band i into `dst + i * tw`.
    static func heightTransformBands(_ rows: UnsafePointer<Float>, bands: Int, th: Int, tw: Int, into dst: UnsafeMutablePointer<Float>, stride: Int) {
        for i in 0..<bands {
            let r = rows + th * i * 6 * tw
            if th == 2 {
                heightTransform2(r, tw: tw, into: dst + i * tw, stride: stride)
            } else {
                heightTransform4(r, tw: tw, into: dst + i * tw, stride: stride)
            }
        }
    }

    /// F(2, 3)'s B^T down 4 width-transformed rows (spaced 6 tw): point (ih, iw) of tile q goes
    /// to `dst + (ih * 6 + iw) * stride + q`.
    static func heightTransform2(_ rows: UnsafePointer<Float>, tw: Int, into dst: UnsafeMutablePointer<Float>, stride: Int) {
        let rs = 6 * tw
        for iw in 0..<6 {
            let r = rows + iw * tw
            let (v0, v1, v2, v3) = (dst + iw * stride, dst + (6 + iw) * stride, dst + (12 + iw) * stride, dst + (18 + iw) * stride)
            var q = 0
            while q + 4 <= tw {
                let (x0, x1, x2, x3) = (Vector4.load(r + q), Vector4.load(r + rs + q), Vector4.load(r + 2 * rs + q), Vector4.load(r + 3 * rs + q))
                Vector4.store(x0 - x2, v0 + q)
                Vector4.store(x1 + x2, v1 + q)
                Vector4.store(x2 - x1, v2 + q)
                Vector4.store(x1 - x3, v3 + q)
                q += 4
            }
            for q in q..<tw {
                let (x0, x1, x2, x3) = (r[q], r[rs + q], r[2 * rs + q], r[3 * rs + q])
                v0[q] = x0 - x2
                v1[q] = x1 + x2
                v2[q] = x2 - x1
                v3[q] = x1 - x3
            }
        }
    }

    /// F(4, 3)'s B^T down 6 width-transformed rows (spaced 6 tw), as `heightTransform2`.
    @inline(__always)
    static func heightTransform4(_ rows: UnsafePointer<Float>, tw: Int, into dst: UnsafeMutablePointer<Float>, stride: Int) {
        let rs = 6 * tw
        for iw in 0..<6 {
            let r = rows + iw * tw
            let v0 = dst + iw * stride, v1 = dst + (6 + iw) * stride, v2 = dst + (12 + iw) * stride
            let v3 = dst + (18 + iw) * stride, v4 = dst + (24 + iw) * stride, v5 = dst + (30 + iw) * stride
            var q = 0
            while q + 4 <= tw {
                let (d0, d1, d2) = (Vector4.load(r + q), Vector4.load(r + rs + q), Vector4.load(r + 2 * rs + q))
                let (d3, d4, d5) = (Vector4.load(r + 3 * rs + q), Vector4.load(r + 4 * rs + q), Vector4.load(r + 5 * rs + q))
                let (b0, b1, b2, b3, b4, b5) = WinogradF43.inputPoints(d0, d1, d2, d3, d4, d5)
                Vector4.store(b0, v0 + q)
                Vector4.store(b1, v1 + q)
                Vector4.store(b2, v2 + q)
                Vector4.store(b3, v3 + q)
                Vector4.store(b4, v4 + q)
                Vector4.store(b5, v5 + q)
                q += 4
            }
            for q in q..<tw {
                (v0[q], v1[q], v2[q], v3[q], v4[q], v5[q]) =
                    WinogradF43.inputPoints(r[q], r[rs + q], r[2 * rs + q], r[3 * rs + q], r[4 * rs + q], r[5 * rs + q])
            }
        }
    }

    /// A^T M A (F(m, 3) along height, then F(4, 3) along width) plus bias, into the output
    /// planes; `temp` holds m x 6 x tiles floats (the height outputs of the 6 width points).
    /// The tiles are whole bands (`tw` tiles each) from `firstBand` on. Four tiles at a time
    /// where they fit (see Vector4), the rest one by one, in the same arithmetic order.
    func outputTransform(_ m: UnsafePointer<Float>, tiles: Int, tw: Int, firstBand: Int, bandsPerPlane: Int,
                         height: Int, width: Int, bias: UnsafePointer<Float>, temp: UnsafeMutablePointer<Float>,
                         into out: UnsafeMutablePointer<Float>, channelStride: Int) {
        let stride = outChannels * tiles
        let th = heightTile
        let vectorTiles = tiles & ~3
        for c in 0..<outChannels {
            let base = m + c * tiles
            for iw in 0..<6 {
                let a = { (ih: Int) in base + (ih * 6 + iw) * stride }
                let y = { (r: Int) in temp + (r * 6 + iw) * tiles }
                if th == 2 {
                    let (a0, a1, a2, a3) = (a(0), a(1), a(2), a(3))
                    let (y0, y1) = (y(0), y(1))
                    var t = 0
                    while t < vectorTiles {
                        let (b0, b1, b2, b3) = (Vector4.load(a0 + t), Vector4.load(a1 + t), Vector4.load(a2 + t), Vector4.load(a3 + t))
                        Vector4.store(b0 + b1 + b2, y0 + t)
                        Vector4.store(b1 - b2 - b3, y1 + t)
                        t += 4
                    }
                    for t in t..<tiles {
                        y0[t] = a0[t] + a1[t] + a2[t]
                        y1[t] = a1[t] - a2[t] - a3[t]
                    }
                } else {
                    let (a0, a1, a2, a3, a4, a5) = (a(0), a(1), a(2), a(3), a(4), a(5))
                    let (y0, y1, y2, y3) = (y(0), y(1), y(2), y(3))
                    var t = 0
                    while t < vectorTiles {
                        let (b1, b2, b3, b4) = (Vector4.load(a1 + t), Vector4.load(a2 + t), Vector4.load(a3 + t), Vector4.load(a4 + t))
                        let (p, q) = (b1 + b2, b1 - b2)
                        let (e, f) = (b3 + b4, b3 - b4)
                        Vector4.store(Vector4.load(a0 + t) + p + e, y0 + t)
                        Vector4.store(q + 2 * f, y1 + t)
                        Vector4.store(p + 4 * e, y2 + t)
                        Vector4.store(q + 8 * f + Vector4.load(a5 + t), y3 + t)
                        t += 4
                    }
                    for t in t..<tiles {
                        let (p, q) = (a1[t] + a2[t], a1[t] - a2[t])
                        let (e, f) = (a3[t] + a4[t], a3[t] - a4[t])
                        y0[t] = a0[t] + p + e
                        y1[t] = q + 2 * f
                        y2[t] = p + 4 * e
                        y3[t] = q + 8 * f + a5[t]
                    }
                }
            }
            let bv = bias[c]
            let plane = out + c * channelStride
            for r in 0..<th {
                let mm = temp + r * 6 * tiles
                let (m0, m1, m2, m3, m4, m5) = (mm, mm + tiles, mm + 2 * tiles, mm + 3 * tiles, mm + 4 * tiles, mm + 5 * tiles)
                var band = firstBand
                var t0 = 0
                while t0 < tiles {
                    let line = plane + (band / bandsPerPlane) * height * width + (th * (band % bandsPerPlane) + r) * width
                    var q = 0
                    while q + 4 <= tw {
                        let t = t0 + q
                        let (n1, n2, n3, n4) = (Vector4.load(m1 + t), Vector4.load(m2 + t), Vector4.load(m3 + t), Vector4.load(m4 + t))
                        let (p, qq) = (n1 + n2, n1 - n2)
                        let (e, f) = (n3 + n4, n3 - n4)
                        let o0 = Vector4.load(m0 + t) + p + e + bv
                        let o1 = qq + 2 * f + bv
                        let o2 = p + 4 * e + bv
                        let o3 = qq + 8 * f + Vector4.load(m5 + t) + bv
                        // Lane i is tile t + i: its four outputs go to line[4 (q + i) ..< + 4].
                        let (r0, r1, r2, r3) = Vector4.transpose(o0, o1, o2, o3)
                        Vector4.store(r0, line + 4 * q)
                        Vector4.store(r1, line + 4 * q + 4)
                        Vector4.store(r2, line + 4 * q + 8)
                        Vector4.store(r3, line + 4 * q + 12)
                        q += 4
                    }
                    for q in q..<tw {
                        let t = t0 + q
                        let row = line + 4 * q
                        let (p, qq) = (m1[t] + m2[t], m1[t] - m2[t])
                        let (e, f) = (m3[t] + m4[t], m3[t] - m4[t])
                        row[0] = m0[t] + p + e + bv
                        row[1] = qq + 2 * f + bv
                        row[2] = p + 4 * e + bv
                        row[3] = qq + 8 * f + m5[t] + bv
                    }
                    t0 += tw
                    band += 1
                }
            }
        }
    }

    /// One input channel's stacked planes `d0 - 1 ..< d0 - 1 + stacked` (planes outside the
    /// sample are the zero padding), each width- then height-transformed into
    /// `v + (ci * stacked + j) * tp`, point p `pointStride` apart. `line` and `rows` are scratch
    /// (`wd + 2` and `(h + 2) * 6 * tw` floats).
    static func transformStackedPlanes(_ src: ChannelSources, _ ptrs: [UnsafePointer<Float>], channel ci: Int, entry: (source: Int, channel: Int),
                                       sample n: Int, firstPlane d0: Int, stacked: Int, th: Int, np: Int, pointStride: Int,
                                       line: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Float>, into v: UnsafeMutablePointer<Float>) {
        let (d, h, wd) = (src.depth, src.height, src.width)
        let tw = wd / 4, bandsPerPlane = h / th, tp = bandsPerPlane * tw
        let planeBase = src.plane(ptrs, entry, sample: n)
        let up = src.upsampled[entry.source]
        for j in 0..<stacked {
            let sd = d0 - 1 + j
            let dst = v + (ci * stacked + j) * tp
            if sd < 0 || sd >= d {
                for p in 0..<np { (dst + p * pointStride).update(repeating: 0, count: tp) }
                continue
            }
            widthTransformLines(src, planeBase, upsampled: up, d: sd, firstRow: -1, count: h + 2,
                                height: h, width: wd, tw: tw, line: line, into: rows)
            heightTransformBands(rows, bands: bandsPerPlane, th: th, tw: tw, into: dst, stride: pointStride)
        }
    }

    /// A dy A^T of planes `d0 ..< d0 + count` of one output-gradient channel (`planeBase`, planes
    /// of h x wd), four tiles at a time where they fit: tile t of the run goes to `dst + t`,
    /// point p `stride` apart. `tmp` holds th x 6 x 4 floats.
    static func transformOutputGradientPlanes(_ planeBase: UnsafePointer<Float>, firstPlane d0: Int, count: Int, height h: Int, width wd: Int,
                                              th: Int, tmp: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, stride: Int) {
        let tw = wd / 4, bandsPerPlane = h / th, tp = bandsPerPlane * tw
        for zz in 0..<count {
            let plane = planeBase + (d0 + zz) * h * wd
            for band in 0..<bandsPerPlane {
                var q = 0
                while q + 4 <= tw {
                    outputGradientTransform4(plane + th * band * wd + 4 * q, rowStride: wd, th: th, tmp: tmp,
                                             into: dst + zz * tp + band * tw + q, stride: stride)
                    q += 4
                }
                for q in q..<tw {
                    outputGradientTransform(plane + th * band * wd + 4 * q, rowStride: wd, th: th, tmp: tmp,
                                            into: dst + zz * tp + band * tw + q, stride: stride)
                }
            }
        }
    }
}

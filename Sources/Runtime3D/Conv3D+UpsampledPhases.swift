import CBLAS

/// A 3x3x3 convolution over a part read through 2x nearest upsampling (the keras decoder's
/// `UpSampling3D` then concatenate), at the part's own low resolution.
///
/// Along one axis, output 2a + p (phase p = 0 or 1) reads upsampled inputs 2a + p - 1 ... 2a + p + 1,
/// that is low-resolution inputs a + p - 1 (tap 0) and a + p (tap 1): phase 0 weighs them with
/// w0 and w1 + w2, phase 1 with w0 + w1 and w2 (zero padding agrees at both resolutions). In 3-D
/// each of the 8 output phases is a 2x2x2 convolution of the low-resolution map with summed
/// weights: 8 multiplications per output voxel and (in, out) instead of 27, by long GEMMs over
/// low-resolution columns (one shared im2col of the low map's 27 neighbours per chunk; phase p's
/// tap t reads neighbour p + t - 1) and no Winograd transforms of an 8x larger input. The
/// parts read as they are run by the convolution's own algorithm over their channels, with the
/// bias (it checks them for NaN and Inf itself); each output voxel then receives one phase
/// product per upsampled part. The chunks follow the threads, so the bits are those of a given
/// thread count. Non-finite upsampled parts or weights take the through-upsampling form (see
/// NonFinite).
extension Conv3D {
    /// Floats of one worker's low-resolution columns (27 x in x columns).
    static let phaseColumnBudget = 4 << 20

    /// True when `forward(parts)` runs the upsampled parts by phases.
    func runsByPhases(_ parts: [ConvInput], threads: Int) -> Bool {
        let upsampled = parts.filter(\.isUpsampled).map(\.map)
        return kernel == 3 && upsampled.contains { $0.spatialCount >= tuning.upsampledPhasesMinVoxels }
            && !NonFinite.contains(weight, threads: threads) && !upsampled.contains { NonFinite.contains($0.data, threads: threads) }
    }

    /// This convolution restricted to input channels `ranges` (in order), with its bias.
    func restricted(to ranges: [Range<Int>]) throws -> Conv3D {
        let cin = ranges.reduce(0) { $0 + $1.count }
        var w = [Float]()
        w.reserveCapacity(outChannels * cin * 27)
        for o in 0..<outChannels {
            for r in ranges { w.append(contentsOf: weight[((o * inChannels + r.lowerBound) * 27)..<((o * inChannels + r.upperBound) * 27)]) }
        }
        return try Conv3D(weight: w, bias: bias, outChannels: outChannels, inChannels: cin, kernel: 3, algorithm: algorithm, tuning: tuning)
    }

    /// The summed 2x2x2 weights of input channels `range`: [phase][tap][out][in], phase and tap
    /// (d, h, w) bits 4, 2, 1. Separably, one axis at a time (each axis: w0, w1 + w2, w0 + w1,
    /// w2 for (phase, tap) 00, 01, 10, 11), in Double, rounded once; output channels split over
    /// the workers.
    func phaseWeights(_ range: Range<Int>, threads: Int) -> [Float] {
        let (cu, cout, cin) = (range.count, outChannels, inChannels)
        let block = cout * cu
        return [Float](unsafeUninitializedCapacity: 64 * block) { buf, count in
            let dst = buf.baseAddress!
            weight.withUnsafeBufferPointer { wp in
                Parallel.forEach(cout, threads: threads) { o, _ in
                    withUnsafeTemporaryAllocation(of: Double.self, capacity: 36 + 48 + 64) { tmp in
                        let a = tmp.baseAddress!, b = a + 36, c = b + 48   // [kd][kh][pw tw], [kd][ph th][pw tw], [pd td][ph th][pw tw]
                        @inline(__always) func pair(_ x0: Double, _ x1: Double, _ x2: Double, _ to: UnsafeMutablePointer<Double>, _ stride: Int) {
                            to[0] = x0; to[stride] = x1 + x2; to[2 * stride] = x0 + x1; to[3 * stride] = x2
                        }
                        for i in 0..<cu {
                            let g = wp.baseAddress! + (o * cin + range.lowerBound + i) * 27
                            for r in 0..<9 { pair(Double(g[3 * r]), Double(g[3 * r + 1]), Double(g[3 * r + 2]), a + 4 * r, 1) }
                            for kd in 0..<3 {
                                for q in 0..<4 { pair(a[kd * 12 + q], a[kd * 12 + 4 + q], a[kd * 12 + 8 + q], b + kd * 16 + q, 4) }
                            }
                            for q in 0..<16 { pair(b[q], b[16 + q], b[32 + q], c + q, 16) }
                            // c[(pd td) * 16 + (ph th) * 4 + (pw tw)], each pair (phase bit, tap bit).
                            for e in 0..<64 {
                                let (pd, td) = (e >> 5, (e >> 4) & 1), (ph, th) = ((e >> 3) & 1, (e >> 2) & 1), (pw, tw) = ((e >> 1) & 1, e & 1)
                                let p = pd * 4 + ph * 2 + pw, t = td * 4 + th * 2 + tw
                                dst[(p * 8 + t) * block + o * cu + i] = Float(c[e])
                            }
                        }
                    }
                }
            }
            count = 64 * block
        }
    }

    /// The im2col neighbour (0..<27) that phase p's tap t reads.
    @inline(__always)
    static func neighbour(phase p: Int, tap t: Int) -> Int {
        ((p >> 2) + (t >> 2)) * 9 + (((p >> 1) & 1) + ((t >> 1) & 1)) * 3 + (p & 1) + (t & 1)
    }

    /// Low-resolution rows (d, h lines) per chunk for `channels` channels of width `w2`: within
    /// the budget, and enough chunks for every worker.
    static func phaseRows(total: Int, channels: Int, width w2: Int, batch: Int, threads: Int) -> Int {
        var rows = min(total, max(1, phaseColumnBudget / (channels * 27 * w2)))
        if batch * ((total + rows - 1) / rows) < threads { rows = max(1, total / max(1, threads / batch)) }
        return rows
    }

    /// Forward of `parts` (some upsampled) by phases.
    func forwardByPhases(_ parts: [ConvInput], _ src: ChannelSources, threads: Int) throws -> FeatureMap {
        let ranges = src.channelRanges
        let plain = parts.indices.filter { !parts[$0].isUpsampled }
        var out: FeatureMap
        if plain.isEmpty {
            out = try FeatureMap(uninitializedBatch: src.batch, channels: outChannels, depth: src.depth, height: src.height, width: src.width)
            let s = src.spatialCount
            out.data.withUnsafeMutableBufferPointer { o in
                for n in 0..<src.batch {
                    for c in 0..<outChannels { (o.baseAddress! + (n * outChannels + c) * s).update(repeating: bias[c], count: s) }
                }
            }
        } else {
            out = try restricted(to: plain.map { ranges[$0] }).forward(plain.map { parts[$0] }, threads: threads)
        }
        for (i, part) in parts.enumerated() where part.isUpsampled {
            addPhases(of: part.map, weights: phaseWeights(ranges[i], threads: threads), into: &out, threads: threads)
        }
        return out
    }

    /// out += the convolution of `x` read through 2x upsampling, by the phase weights `u`.
    private func addPhases(of x: FeatureMap, weights u: [Float], into out: inout FeatureMap, threads: Int) {
        let (cu, cout) = (x.channels, outChannels)
        let (d2, h2, w2) = (x.depth, x.height, x.width)
        let (s2, hw, wd) = (x.spatialCount, 4 * h2 * w2, 2 * w2)
        let s = 8 * s2
        let rowsTotal = d2 * h2
        let rows = Self.phaseRows(total: rowsTotal, channels: cu, width: w2, batch: x.batch, threads: threads)
        let chunksPerSample = (rowsTotal + rows - 1) / rows
        let chunks = x.batch * chunksPerSample
        let scratch = Scratch(workers: Parallel.workers(chunks, threads: threads), capacity: (cu * 27 + cout) * rows * w2)
        x.data.withUnsafeBufferPointer { xp in
            u.withUnsafeBufferPointer { up in
                out.data.withUnsafeMutableBufferPointer { op in
                    let (xb, ub, ob) = (xp.baseAddress!, up.baseAddress!, op.baseAddress!)
                    Parallel.forEach(chunks, threads: threads) { chunk, worker in
                        let n = chunk / chunksPerSample
                        let r0 = (chunk % chunksPerSample) * rows, r1 = min(rowsTotal, r0 + rows)
                        let cols = (r1 - r0) * w2
                        let col = scratch.buffer(worker), z = col + cu * 27 * cols
                        for c in 0..<cu {
                            Im2col.fill3(plane: xb + (n * cu + c) * s2, depth: d2, height: h2, width: w2, rows: r0..<r1,
                                         into: col + c * 27 * cols, rowStride: cols)
                        }
                        for p in 0..<8 {
                            for t in 0..<8 {
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(cols), Int32(cu),
                                            1, ub + (p * 8 + t) * cout * cu, Int32(cu), col + Self.neighbour(phase: p, tap: t) * cols,
                                            Int32(27 * cols), t == 0 ? 0 : 1, z, Int32(cols))
                            }
                            let (pd, ph, pw) = (p >> 2, (p >> 1) & 1, p & 1)
                            for o in 0..<cout {
                                let plane = ob + (n * cout + o) * s
                                var zr = z + o * cols
                                for r in r0..<r1 {
                                    let line = plane + (2 * (r / h2) + pd) * hw + (2 * (r % h2) + ph) * wd + pw
                                    for k in 0..<w2 { line[2 * k] += zr[k] }
                                    zr += w2
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

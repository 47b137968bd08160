/// Backward passes of max-pooling and nearest upsampling.
extension Resampling {
    /// Backward of `maxPool2`: each output's gradient goes to the one input PyTorch's CPU
    /// `max_pool3d` records as its index: scanning the window in (d, h, w) order, the first
    /// strictly greatest value, or the last NaN when the window holds NaN (its test is
    /// `val > max || isnan(val)`). Every other input gets 0.
    public static func maxPool2Backward(input x: FeatureMap, outputGradient dY: FeatureMap,
                                        threads: Int = Parallel.defaultThreads) throws -> FeatureMap {
        guard x.depth % 2 == 0, x.height % 2 == 0, x.width % 2 == 0,
              dY.shape == [x.batch, x.channels, x.depth / 2, x.height / 2, x.width / 2] else {
            throw RuntimeError.badInput(reason: "maxpool backward: input \(x.shape) and output gradient \(dY.shape) do not fit")
        }
        // Zeroed plane by plane inside the workers (a serial memset of the whole map was most
        // of this pass's time at full resolution).
        var dX = try FeatureMap(uninitializedBatch: x.batch, channels: x.channels, depth: x.depth, height: x.height, width: x.width)
        let (si, so) = (x.spatialCount, dY.spatialCount)
        let (hw, w) = (x.height * x.width, x.width)
        let (od, oh, ow) = (dY.depth, dY.height, dY.width)
        x.data.withUnsafeBufferPointer { xp in
            dY.data.withUnsafeBufferPointer { gp in
                dX.data.withUnsafeMutableBufferPointer { dp in
                    let (xb, gb, db) = (xp.baseAddress!, gp.baseAddress!, dp.baseAddress!)
                    Parallel.forEach(x.batch * x.channels, threads: threads) { plane, _ in
                        let src = xb + plane * si, dst = db + plane * si
                        dst.update(repeating: 0, count: si)
                        var g = gb + plane * so
                        for d in 0..<od {
                            for h in 0..<oh {
                                let row = 2 * d * hw + 2 * h * w
                                for k in 0..<ow {
                                    let base = row + 2 * k
                                    // The window in (d, h, w) order: the first strictly greatest, or the last NaN.
                                    var best = -Float.infinity, at = base
                                    @inline(__always) func visit(_ i: Int) {
                                        let v = src[i]
                                        if v > best || v.isNaN { best = v; at = i }
                                    }
                                    visit(base); visit(base + 1); visit(base + w); visit(base + w + 1)
                                    visit(base + hw); visit(base + hw + 1); visit(base + hw + w); visit(base + hw + w + 1)
                                    dst[at] += g[k]
                                }
                                g += ow
                            }
                        }
                    }
                }
            }
        }
        return dX
    }

    /// Backward of `upsampleNearest2`: each input voxel's gradient is the sum of its 2x2x2
    /// children's.
    public static func upsampleNearest2Backward(_ dY: FeatureMap, threads: Int = Parallel.defaultThreads) throws -> FeatureMap {
        try upsampleNearest2Backward(dY, channels: 0..<dY.channels, threads: threads)
    }

    /// The same for channels `range` of dY only (a convolution's input gradient over several
    /// parts, read in place instead of split first).
    static func upsampleNearest2Backward(_ dY: FeatureMap, channels range: Range<Int>, threads: Int) throws -> FeatureMap {
        guard dY.depth % 2 == 0, dY.height % 2 == 0, dY.width % 2 == 0 else {
            throw RuntimeError.badInput(reason: "upsample backward: gradient shape \(dY.shape) is not even")
        }
        guard range.lowerBound >= 0, range.upperBound <= dY.channels, !range.isEmpty else {
            throw RuntimeError.badInput(reason: "upsample backward: channels \(range) outside 0..<\(dY.channels)")
        }
        let cp = range.count
        var dX = try FeatureMap(uninitializedBatch: dY.batch, channels: cp, depth: dY.depth / 2, height: dY.height / 2, width: dY.width / 2)
        let (si, so) = (dY.spatialCount, dX.spatialCount)
        let (hw, w) = (dY.height * dY.width, dY.width)
        let (od, oh, ow) = (dX.depth, dX.height, dX.width)
        dY.data.withUnsafeBufferPointer { gp in
            dX.data.withUnsafeMutableBufferPointer { dp in
                let (gb, db) = (gp.baseAddress!, dp.baseAddress!)
                Parallel.forEach(dY.batch * cp, threads: threads) { plane, _ in
                    let src = gb + ((plane / cp) * dY.channels + range.lowerBound + plane % cp) * si
                    var dst = db + plane * so
                    for d in 0..<od {
                        for h in 0..<oh {
                            let a = src + 2 * d * hw + 2 * h * w
                            let (b, c, e) = (a + w, a + hw, a + hw + w)
                            for k in 0..<ow {
                                let i = 2 * k
                                dst[k] = ((a[i] + a[i + 1]) + (b[i] + b[i + 1])) + ((c[i] + c[i + 1]) + (e[i] + e[i + 1]))
                            }
                            dst += ow
                        }
                    }
                }
            }
        }
        return dX
    }
}

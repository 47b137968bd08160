/// The U-Net's resolution changes that carry no weights: 2x max-pooling and 2x nearest
/// upsampling (each voxel repeated 2x2x2).
public enum Resampling {
    /// MaxPool3D with kernel 2, stride 2; every spatial side must be even. A window holding NaN
    /// gives NaN (as PyTorch; Swift's `max` would drop it).
    public static func maxPool2(_ x: FeatureMap, threads: Int = Parallel.defaultThreads) throws -> FeatureMap {
        guard x.depth % 2 == 0, x.height % 2 == 0, x.width % 2 == 0 else {
            throw RuntimeError.badInput(reason: "maxpool: spatial size \(x.depth)x\(x.height)x\(x.width) is not even")
        }
        let (od, oh, ow) = (x.depth / 2, x.height / 2, x.width / 2)
        var out = try FeatureMap(uninitializedBatch: x.batch, channels: x.channels, depth: od, height: oh, width: ow)
        let (si, so) = (x.spatialCount, out.spatialCount)
        let (hw, w) = (x.height * x.width, x.width)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let (xb, ob) = (xp.baseAddress!, op.baseAddress!)
                Parallel.forEach(x.batch * x.channels, threads: threads) { plane, _ in
                    let src = xb + plane * si
                    var dst = ob + plane * so
                    for d in 0..<od {
                        for h in 0..<oh {
                            let a = src + 2 * d * hw + 2 * h * w
                            let b = a + w, c = a + hw, e = a + hw + w
                            for k in 0..<ow {
                                let i = 2 * k
                                let m1 = maxKeepingNaN(maxKeepingNaN(a[i], a[i + 1]), maxKeepingNaN(b[i], b[i + 1]))
                                let m2 = maxKeepingNaN(maxKeepingNaN(c[i], c[i + 1]), maxKeepingNaN(e[i], e[i + 1]))
                                dst[k] = maxKeepingNaN(m1, m2)
                            }
                            dst += ow
                        }
                    }
                }
            }
        }
        return out
    }

    /// The larger of two values, NaN when either is NaN (compare-and-select: vectorises).
    @inline(__always)
    static func maxKeepingNaN(_ x: Float, _ y: Float) -> Float { x > y || x.isNaN ? x : y }

    /// UpSampling3D(2), nearest: out[2d+a, 2h+b, 2w+c] = x[d, h, w].
    public static func upsampleNearest2(_ x: FeatureMap, threads: Int = Parallel.defaultThreads) throws -> FeatureMap {
        var out = try FeatureMap(uninitializedBatch: x.batch, channels: x.channels, depth: 2 * x.depth, height: 2 * x.height, width: 2 * x.width)
        let (si, so) = (x.spatialCount, out.spatialCount)
        let (ow, ohw) = (out.width, out.height * out.width)
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                let (xb, ob) = (xp.baseAddress!, op.baseAddress!)
                Parallel.forEach(x.batch * x.channels, threads: threads) { plane, _ in
                    var src = xb + plane * si
                    let dst = ob + plane * so
                    for d in 0..<x.depth {
                        for h in 0..<x.height {
                            let row = dst + 2 * d * ohw + 2 * h * ow
                            for k in 0..<x.width {
                                row[2 * k] = src[k]
                                row[2 * k + 1] = src[k]
                            }
                            (row + ow).update(from: row, count: ow)
                            (row + ohw).update(from: row, count: ow)
                            (row + ohw + ow).update(from: row, count: ow)
                            src += x.width
                        }
                    }
                }
            }
        }
        return out
    }
}

import Foundation

/// Elementwise and per-voxel activations.
public enum Activations {
    /// max(0, x) in place; NaN stays NaN (as PyTorch's `relu`; Swift's `max(0, .nan)` is 0).
    public static func relu(_ x: inout FeatureMap) {
        x.data.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = reluKeepingNaN(p[i]) }
        }
    }

    /// ReLU that propagates NaN: a compare-and-select that still vectorises.
    @inline(__always)
    static func reluKeepingNaN(_ v: Float) -> Float { v > 0 || v.isNaN ? v : 0 }

    /// 1 / (1 + exp(-x)) in place, written so neither branch overflows; NaN takes the second
    /// branch and stays NaN.
    public static func sigmoid(_ x: inout FeatureMap) {
        x.data.withUnsafeMutableBufferPointer { p in
            for i in p.indices {
                let v = p[i]
                if v >= 0 {
                    p[i] = 1 / (1 + Foundation.exp(-v))
                } else {
                    let e = Foundation.exp(v)
                    p[i] = e / (1 + e)
                }
            }
        }
    }

    /// Softmax over the channel axis at every voxel, in place (max subtracted first). A voxel
    /// with a NaN logit is NaN in every channel (the NaN reaches the sum), as in PyTorch.
    public static func softmaxChannels(_ x: inout FeatureMap) {
        let s = x.spatialCount, c = x.channels
        x.data.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            for n in 0..<x.batch {
                let sample = base + n * c * s
                for v in 0..<s {
                    var m = -Float.infinity
                    for ch in 0..<c { m = max(m, sample[ch * s + v]) }
                    var sum: Float = 0
                    for ch in 0..<c {
                        let e = Foundation.exp(sample[ch * s + v] - m)
                        sample[ch * s + v] = e
                        sum += e
                    }
                    let inv = 1 / sum
                    for ch in 0..<c { sample[ch * s + v] *= inv }
                }
            }
        }
    }
}

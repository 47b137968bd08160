import Foundation

/// A plain whole-volume sliding-window blender, written from MONAI's description and nothing of
/// ours: pad the whole scan (constant 0, half before), windows on MONAI's grid in MONAI's order
/// (i, j, k with k fastest), Gaussian weights in Double, full-size value and weight sums, divide,
/// crop. Output (C, I, J, K) with i fastest inside each channel.
enum ReferenceBlender {
    static func blend(voxels: [Float], shape: [Int], patch: [Int], overlap: Double, channels: Int,
                      network: ([Float], [Int]) -> [Float]) -> [Float] {
        let padded = (0..<3).map { max(shape[$0], patch[$0]) }
        let before = (0..<3).map { (padded[$0] - shape[$0]) / 2 }
        func index(_ p: [Int], _ s: [Int]) -> Int { (p[2] * s[1] + p[1]) * s[0] + p[0] }
        var image = [Double](repeating: 0, count: padded.reduce(1, *))
        for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] {
            image[index([i + before[0], j + before[1], k + before[2]], padded)] = Double(voxels[index([i, j, k], shape)])
        } } }
        var starts: [[Int]] = []
        for a in 0..<3 {
            let step = padded[a] == patch[a] ? patch[a] : max(1, Int(Double(patch[a]) * (1 - overlap)))
            var s: [Int] = []
            var d = 0
            while true {
                s.append(min(d * step, padded[a] - patch[a]))
                if d * step + patch[a] >= padded[a] { break }
                d += 1
            }
            starts.append(s)
        }
        var gauss = [Double](repeating: 1, count: patch.reduce(1, *))
        for a in 0..<patch[0] { for b in 0..<patch[1] { for c in 0..<patch[2] {
            var g = 1.0
            for (axis, t) in [a, b, c].enumerated() {
                let x = Double(t) - Double(patch[axis] - 1) / 2, sigma = 0.125 * Double(patch[axis])
                g *= exp(-x * x / (2 * sigma * sigma))
            }
            gauss[(a * patch[1] + b) * patch[2] + c] = g
        } } }
        let floor = max(gauss.min()!, 1e-3)
        gauss = gauss.map { max($0, floor) }
        let n = padded.reduce(1, *)
        var sums = [Double](repeating: 0, count: channels * n)
        var weights = [Double](repeating: 0, count: n)
        for i0 in starts[0] { for j0 in starts[1] { for k0 in starts[2] {
            var x = [Float](repeating: 0, count: patch.reduce(1, *))
            for a in 0..<patch[0] { for b in 0..<patch[1] { for c in 0..<patch[2] {
                x[(a * patch[1] + b) * patch[2] + c] = Float(image[index([i0 + a, j0 + b, k0 + c], padded)])
            } } }
            let y = network(x, [1, 1] + patch)
            for a in 0..<patch[0] { for b in 0..<patch[1] { for c in 0..<patch[2] {
                let p = (a * patch[1] + b) * patch[2] + c
                let v = index([i0 + a, j0 + b, k0 + c], padded)
                weights[v] += gauss[p]
                for ch in 0..<channels { sums[ch * n + v] += Double(y[ch * x.count + p]) * gauss[p] }
            } } }
        } } }
        var out = [Float](repeating: 0, count: channels * shape.reduce(1, *))
        for ch in 0..<channels { for k in 0..<shape[2] { for j in 0..<shape[1] { for i in 0..<shape[0] {
            let v = index([i + before[0], j + before[1], k + before[2]], padded)
            out[ch * shape.reduce(1, *) + index([i, j, k], shape)] = Float(sums[ch * n + v] / weights[v])
        } } } }
        return out
    }
}

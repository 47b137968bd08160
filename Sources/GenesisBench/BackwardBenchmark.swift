import Foundation
import GenesisModel
import Runtime3D
import Tensors

/// Times what one training step's gradients cost on the full network (base 32, 1x1x64x64x32,
/// batch statistics): building the network from the tensors (the Winograd filter transforms;
/// a training loop rebuilds after every update), the traced forward, and the backward from the
/// MSE loss's output gradient.
struct BackwardBenchmark {
    let variant: Variant
    let reps: Int
    let threads: Int
    let algorithm: Conv3D.Algorithm
    let tuning: ConvolutionTuning
    let shape = [1, 1, 64, 64, 32]

    struct Result {
        let build: Double, forward: Double, backward: Double, step: Double, bestStep: Double
        let peakRSSBytes: Int
        let gradientChecksum: Double
        /// Per forward step (named "forward ..."), then per backward step: name, median seconds.
        let layers: [(name: String, seconds: Double)]
    }

    func run() throws -> Result {
        let arch = Architecture(variant: variant, baseFilters: 32, labels: 1)
        let store = SeededWeights.store(arch, seed: 42)
        var r = SplitMix(seed: 7)
        let voxels = 64 * 64 * 32
        let x = try FeatureMap(shape: shape, data: (0..<voxels).map { _ in r.unit() })
        let target = (0..<voxels).map { _ in r.unit() }
        var builds: [Double] = [], forwards: [Double] = [], backwards: [Double] = [], steps: [Double] = []
        var checksum = 0.0
        var perStep: [String: [Double]] = [:], order: [String] = []
        for rep in 0...reps {   // rep 0 warms up
            let t0 = DispatchTime.now().uptimeNanoseconds
            let net = try GenesisNetwork(architecture: arch, weights: store, algorithm: algorithm, tuning: tuning)
            let t1 = DispatchTime.now().uptimeNanoseconds
            let trace = ForwardTrace()
            var layerSteps: [(name: String, seconds: Double)] = []
            let y = try net.forward(x, bn: .batch, threads: threads, trace: trace, onLayer: { layerSteps.append(("forward " + $0.name, $0.seconds)) })
            let t2 = DispatchTime.now().uptimeNanoseconds
            // MSE = mean (y - t)^2: dLoss/dy = 2 (y - t) / count.
            let dOut = try FeatureMap(shape: y.shape, data: zip(y.data, target).map { 2 * ($0 - $1) / Float(voxels) })
            let g = try net.backward(trace: trace, outputGradient: dOut, threads: threads, onLayer: { layerSteps.append(($0.name, $0.seconds)) })
            if rep == 1 { order = layerSteps.map(\.name) }
            if rep > 0 { for s in layerSteps { perStep[s.name, default: []].append(s.seconds) } }
            let t3 = DispatchTime.now().uptimeNanoseconds
            if rep == 0 {
                checksum = g.tensors.entries.reduce(0.0) { acc, e in acc + e.tensor.floats().reduce(0.0) { $0 + Double(abs($1)) } }
                continue
            }
            builds.append(Double(t1 - t0) * 1e-9)
            forwards.append(Double(t2 - t1) * 1e-9)
            backwards.append(Double(t3 - t2) * 1e-9)
            steps.append(Double(t3 - t0) * 1e-9)
        }
        return Result(build: median(builds), forward: median(forwards), backward: median(backwards), step: median(steps),
                      bestStep: steps.min() ?? 0, peakRSSBytes: peakRSS(), gradientChecksum: checksum,
                      layers: order.map { ($0, median(perStep[$0] ?? [])) })
    }
}

import Foundation
import GenesisModel
import Runtime3D

/// Times the full network's forward pass and each of its steps.
struct ForwardBenchmark {
    let variant: Variant
    let reps: Int
    let threads: Int
    let bn: BatchNormMode
    let algorithm: Conv3D.Algorithm
    let tuning: ConvolutionTuning
    let shape = [1, 1, 64, 64, 32]

    struct Result {
        let median: Double, best: Double, flops: Double, peakRSSBytes: Int
        /// Process CPU seconds (user + system) per timed forward: less sensitive than wall time
        /// to other processes on a shared machine; about threads x wall time when undisturbed.
        let cpuSecondsPerForward: Double
        /// Per step: name, median seconds over the timed reps, FLOPs, output shape.
        let layers: [(name: String, seconds: Double, flops: Double, shape: [Int])]
        let outputChecksum: Double
    }

    func run() throws -> Result {
        let arch = Architecture(variant: variant, baseFilters: 32, labels: 1)
        let net = try GenesisNetwork(architecture: arch, weights: SeededWeights.store(arch, seed: 42), algorithm: algorithm, tuning: tuning)
        var r = SplitMix(seed: 7)
        let x = try FeatureMap(shape: shape, data: (0..<(64 * 64 * 32)).map { _ in r.unit() })
        var checksum = 0.0
        _ = try net.forward(x, bn: bn, threads: threads)  // warm-up
        var times: [Double] = []
        var perLayer: [[Double]] = []
        var names: [(String, Double, [Int])] = []
        let cpu0 = cpuSeconds()
        for rep in 0..<reps {
            var steps: [LayerTiming] = []
            let t0 = DispatchTime.now().uptimeNanoseconds
            let y = try net.forward(x, bn: bn, threads: threads, onLayer: { steps.append($0) })
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
            if rep == 0 {
                names = steps.map { ($0.name, $0.flops, $0.shape) }
                perLayer = steps.map { _ in [] }
                checksum = y.data.reduce(0.0) { $0 + Double($1) }
            }
            for (i, s) in steps.enumerated() { perLayer[i].append(s.seconds) }
        }
        let cpu = (cpuSeconds() - cpu0) / Double(max(1, reps))
        let layers = names.enumerated().map { i, n in (n.0, median(perLayer[i]), n.1, n.2) }
        return Result(median: median(times), best: times.min() ?? 0, flops: arch.forwardFLOPs(depth: 64, height: 64, width: 32),
                      peakRSSBytes: peakRSS(), cpuSecondsPerForward: cpu, layers: layers, outputChecksum: checksum)
    }
}

func median(_ v: [Double]) -> Double {
    guard !v.isEmpty else { return 0 }
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Peak resident set size of this process (getrusage; Linux reports kilobytes).
func peakRSS() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Int(u.ru_maxrss) * 1024
}

/// User + system CPU seconds of this process so far.
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func unit() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 24)
    }
}

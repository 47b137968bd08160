import Foundation
import GenesisModel
import Tensors

/// `permute [reps]`: the Keras -> canonical kernel permutation of every 3x3x3 kernel of the
/// base-32 network twice over (weights and momentum: about 130 MB, past any cache), on all
/// cores as a conversion runs it: seconds and GB/s (read + write).
enum PermuteBenchmark {
    static func run(_ args: [String]) -> Never {
        let reps = args.count > 1 ? Int(args[1]) ?? 10 : 10
        let arch = Architecture(variant: .keras, baseFilters: 32, labels: 1)
        let kernels = (arch.blocks + arch.blocks).map { b in
            Tensor(shape: [3, 3, 3, b.inChannels, b.outChannels], floats: (0..<(27 * b.inChannels * b.outChannels)).map { Float($0 & 1023) })
        }
        let bytes = kernels.reduce(0) { $0 + $1.bytes.count }
        var times: [Double] = []
        var sink = 0
        for _ in 0..<reps {
            let start = Date()
            let p = kernels.concurrentMap { $0.permuted(NameMaps.kerasToCanonicalAxes) }
            times.append(Date().timeIntervalSince(start))
            sink &+= Int(p[5].bytes[12345])
        }
        times.sort()
        let gbps = Double(2 * bytes) / times[times.count / 2] / 1e9
        print(String(format: "permute %d kernels (%.0f MB): median %.4f s, best %.4f s, %.2f GB/s (%d)", kernels.count, Double(bytes) / 1e6, times[times.count / 2], times[0], gbps, sink & 1))
        exit(0)
    }
}

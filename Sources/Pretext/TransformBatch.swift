import Dispatch
import Tensors

extension GenesisTransforms {
    /// The generator of cube `index` under `seed`: a function of the two alone, so a batch is
    /// the same whatever the thread count or the order cubes run in. The index is hashed
    /// (SplitMix64's finaliser) before it meets the seed: SeededGenerator seeds through
    /// SplitMix64, whose states for seeds one golden step apart overlap.
    public static func generator(seed: UInt64, index: Int) -> SeededGenerator {
        SeededGenerator(seed: mix(seed ^ mix(UInt64(truncatingIfNeeded: index) &+ 0xD1B5_4A32_D192_ED03)))
    }

    static func mix(_ v: UInt64) -> UInt64 {
        var z = v &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Pairs for a batch: cube i uses `generator(seed:index: firstIndex + i)`, so a training
    /// loop passes e.g. `firstIndex: step * batchSize` and gets fresh, reproducible draws each
    /// step. Cubes run on `threads` threads (default 2, this machine's cores) with Dispatch;
    /// the result is the same for any thread count.
    public func pairs(_ cubes: [Cube], seed: UInt64, firstIndex: Int = 0, threads: Int = 2) -> [TransformedPair] {
        let n = cubes.count
        guard n > 0 else { return [] }
        var out = [TransformedPair?](repeating: nil, count: n)
        let workers = max(1, min(threads, n))
        out.withUnsafeMutableBufferPointer { results in
            let base = results.baseAddress!
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < n {
                    var rng = Self.generator(seed: seed, index: firstIndex + i)
                    (base + i).pointee = transformedPair(cubes[i], rng: &rng)
                    i += workers
                }
            }
        }
        return out.map { $0! }
    }

    /// `pairs` on a float32 (N, 1, D, H, W) batch: the network input and the target, same shape.
    public func pairs(batch: Tensor, seed: UInt64, firstIndex: Int = 0, threads: Int = 2) throws -> (input: Tensor, target: Tensor) {
        let p = pairs(try Cube.cubes(of: batch), seed: seed, firstIndex: firstIndex, threads: threads)
        return (try Cube.batch(p.map(\.input)), try Cube.batch(p.map(\.target)))
    }
}

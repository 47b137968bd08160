import ArgumentParser
import Runtime3D
import Tensors
import VolumeIO

struct CubesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cubes",
        abstract: "Write seeded random cubes (.npy, float32) to try a model on.",
        discussion: """
        Values uniform in [0, 1), like HU-clipped, rescaled CT; shape (N, 1, D, H, W). The same seed gives the same bytes everywhere.

        Example:
          genesis cubes --count 2 --shape 64,64,32 --seed 7 --out cubes.npy
        """
    )

    @Option(help: "Number of cubes N.") var count: Int = 1
    @Option(help: "Spatial shape D,H,W (multiples of 8; official: 64,64,32).", transform: CubesCommand.parseSpatial)
    var shape: [Int] = [64, 64, 32]
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Output .npy file.") var out: String
    @Flag(help: "Print one JSON object instead of text.") var json = false

    static func parseSpatial(_ s: String) throws -> [Int] {
        let p = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard p.count == 3, p.allSatisfy({ ($0 ?? 0) > 0 && $0! % 8 == 0 && $0! <= 1024 }) else {
            throw ValidationError("--shape takes D,H,W, each a multiple of 8 up to 1024 (e.g. 64,64,32)")
        }
        return p.map { $0! }
    }

    func validate() throws {
        guard (1...4096).contains(count) else { throw ValidationError("--count must be 1...4096") }
        guard count * shape.reduce(1, *) <= 1 << 30 else { throw ValidationError("--count x D x H x W must stay below 2^30 values") }
    }

    func run() throws {
        var cubes: [Float] = []
        for i in 0..<count { cubes += ForwardComparison.seededCube(shape, seed: seed &+ UInt64(i)).floats() }
        let t = Tensor(shape: [count, 1] + shape, floats: cubes)
        try NPY.write(t, to: out)
        if json {
            CLIOutput.json(["file": out, "shape": t.shape, "seed": Int(truncatingIfNeeded: seed), "dtype": "float32"])
        } else {
            CLIOutput.line("wrote \(out): \(CLIOutput.shape(t.shape)) float32, seed \(seed)")
        }
    }
}

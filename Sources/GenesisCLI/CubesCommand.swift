import ArgumentParser
import Runtime3D
import Tensors
import VolumeIO

struct CubesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cubes",
        abstract: "Cut training cubes from your scans (NIfTI, MetaImage), or write seeded random cubes.",
        discussion: """
        With scans: cubes are cut the way the official Models Genesis generator (infinite_generator_3D.py) \
        cuts them. Intensities are clipped to the window (--modality ct: [-1000, 1000] HU; mri: [0, 4000]) \
        and scaled to [0, 1]. Corners are drawn at random, keeping --border voxels clear (official: 100 on \
        x and y, 30 on z). A cube is kept only when its tissue score (for each voxel, 1 when it is at least \
        -150 HU, 0.5 when only the next slice is, else 0) is at most --max-tissue of its voxels (official \
        0.15), so cubes of mostly air and lung are kept. There are at most 50 draws per wanted cube. Output \
        is (N, 1, D, H, W) float32, with D along the scan's i axis, H along j and W along k. A scan too \
        small for the cube and borders gives no cube. A damaged scan stops the run (exit 2) before \
        anything is written. Reads .nii, .nii.gz (NIfTI-1 and -2), .mhd (+ .raw/.zraw) and .mha.

        Without scans: values are uniform in [0, 1), and the same seed gives the same bytes everywhere.

        Examples:
          genesis cubes subset0/*.mhd --out bat_32_64x64x32_0.npy --per-volume 32 --seed 1
          genesis cubes t1.nii.gz --modality mri --size 64,64,32 --border 10,5 --out mri.npy --json
          genesis cubes --count 2 --shape 64,64,32 --seed 7 --out cubes.npy
        """
    )

    @Argument(help: "Scans to cut cubes from (.nii, .nii.gz, .mhd, .mha). None: synthetic cubes.") var volumes: [String] = []
    @Option(help: "Output .npy file.") var out: String
    @Option(help: "Cube size D,H,W along the scan's i,j,k (multiples of 8; official: 64,64,32).", transform: CubesCommand.parseSpatial)
    var size: [Int]?
    @Option(name: .customLong("per-volume"), help: "Cubes wanted from each scan (official scale: 32).") var perVolume: Int?
    @Option(help: "ct (clip [-1000, 1000] HU) or mri (clip [0, 4000]); scaled to [0, 1].") var modality: String?
    @Option(help: "Borders kept clear, XY,Z voxels (official: 100,30).") var border: String?
    @Option(name: .customLong("max-tissue"), help: "Largest tissue score kept, as a fraction of a cube's voxels (official: 0.15; 1 keeps every cube).")
    var maxTissue: Double?
    @Option(help: "Synthetic cubes only: number of cubes N.") var count: Int?
    @Option(help: "Synthetic cubes only: spatial shape D,H,W (multiples of 8).", transform: CubesCommand.parseSpatial)
    var shape: [Int]?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Flag(help: "Print one JSON object instead of text.") var json = false

    @Sendable static func parseSpatial(_ s: String) throws -> [Int] {
        let p = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard p.count == 3, p.allSatisfy({ ($0 ?? 0) > 0 && $0! % 8 == 0 && $0! <= 1024 }) else {
            throw ValidationError("takes D,H,W, each a multiple of 8 up to 1024 (e.g. 64,64,32)")
        }
        return p.map { $0! }
    }

    func validate() throws {
        if volumes.isEmpty {
            for (flag, given) in [("--size", size != nil), ("--per-volume", perVolume != nil), ("--modality", modality != nil),
                                  ("--border", border != nil), ("--max-tissue", maxTissue != nil)] where given {
                throw ValidationError("\(flag) is for cubes cut from scans; give the scans, or use --count and --shape for synthetic cubes")
            }
            let n = count ?? 1, s = shape ?? [64, 64, 32]
            guard (1...4096).contains(n) else { throw ValidationError("--count must be 1...4096") }
            guard n * s.reduce(1, *) <= 1 << 30 else { throw ValidationError("--count x D x H x W must stay below 2^30 values") }
        } else {
            if count != nil || shape != nil {
                throw ValidationError("--count and --shape are for synthetic cubes; with scans use --per-volume and --size")
            }
            _ = try sampling()
        }
    }

    /// The sampling the options ask for (official defaults).
    func sampling() throws -> CubeSampling {
        let window: IntensityWindow
        switch (modality ?? "ct").lowercased() {
        case "ct": window = .ct
        case "mri": window = .mri
        default: throw ValidationError("--modality takes ct or mri")
        }
        let n = perVolume ?? 32
        guard (1...4096).contains(n) else { throw ValidationError("--per-volume must be 1...4096") }
        let cube = size ?? [64, 64, 32]
        let (total, overflow) = (volumes.count * n).multipliedReportingOverflow(by: cube.reduce(1, *))
        guard !overflow, total <= 1 << 30 else {
            throw ValidationError("scans x --per-volume x D x H x W must stay below 2^30 values (4 GiB); cut fewer scans per file")
        }
        var s = CubeSampling(size: cube, perVolume: n, window: window)
        if let border {
            let p = border.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard p.count == 2, let xy = p[0], let z = p[1], (0...4096).contains(xy), (0...4096).contains(z) else {
                throw ValidationError("--border takes XY,Z voxels, each 0...4096 (official: 100,30)")
            }
            (s.borderXY, s.borderZ) = (xy, z)
        }
        if let maxTissue {
            guard maxTissue.isFinite, (0...1).contains(maxTissue) else { throw ValidationError("--max-tissue takes a fraction in [0, 1]") }
            s.maxTissue = maxTissue
        }
        return s
    }

    func run() throws {
        if volumes.isEmpty { return try runSynthetic() }
        let s = try sampling()
        let result = try CubesFromScans.cut(volumes, s, seed: seed, progress: !json)
        guard result.cubes > 0 else {
            CLIOutput.warn("no cube kept from \(volumes.count) scan(s): \(result.summary); nothing written to \(out)")
            if json { CLIOutput.json(result.json(file: out, seed: seed, sampling: s, written: false)) }
            throw ExitCode(1)
        }
        let t = Tensor(shape: [result.cubes, 1] + s.size, floats: result.values)
        try NPY.write(t, to: out)
        if json {
            CLIOutput.json(result.json(file: out, seed: seed, sampling: s, written: true))
        } else {
            CLIOutput.line("wrote \(CLIOutput.terminalSafe(out)): \(CLIOutput.shape(t.shape)) float32, \(result.cubes) cubes from \(volumes.count) scan(s), seed \(seed)")
            CLIOutput.line(result.summary)
        }
    }

    func runSynthetic() throws {
        let n = count ?? 1, spatial = shape ?? [64, 64, 32]
        var cubes: [Float] = []
        for i in 0..<n { cubes += ForwardComparison.seededCube(spatial, seed: seed &+ UInt64(i)).floats() }
        let t = Tensor(shape: [n, 1] + spatial, floats: cubes)
        try NPY.write(t, to: out)
        if json {
            CLIOutput.json(["file": out, "shape": t.shape, "seed": Int(truncatingIfNeeded: seed), "dtype": "float32", "cubes": n])
        } else {
            CLIOutput.line("wrote \(out): \(CLIOutput.shape(t.shape)) float32, seed \(seed)")
        }
    }
}

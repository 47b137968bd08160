import Tensors
import VolumeIO

/// `genesis cubes SCANS...`: each scan read, windowed and sampled in turn (one scan in memory
/// at a time; the kept cubes stay in memory until the file is written, capped at 2^30 values).
struct CubesFromScans {
    struct PerScan {
        let file: String
        let shape: [Int]
        let format: String
        let sampled: SampledCubes
    }

    var scans: [PerScan] = []
    var values: [Float] = []
    var cubes: Int { scans.reduce(0) { $0 + $1.sampled.count } }

    /// Scan i draws from SeededGenerator(seed: seed ^ (i + 1) * golden): the same scan at the
    /// same place in the list gives the same cubes, whatever the other scans are.
    static func cut(_ paths: [String], _ s: CubeSampling, seed: UInt64, progress show: Bool) throws -> CubesFromScans {
        var result = CubesFromScans()
        let progress = Progress(label: "cubes", totalWork: Double(paths.count), totalItems: paths.count,
                                units: .init(item: "scans", rateLabel: "scans/s", rateScale: 1), enabled: show)
        for (i, path) in paths.enumerated() {
            let volume = try VolumeFile.read(path)
            var rng = SeededGenerator(seed: seed ^ (UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15))
            let sampled = CubeSampler.sample(volume, s, rng: &rng)
            result.values += sampled.values
            result.scans.append(PerScan(file: path, shape: volume.shape, format: volume.format, sampled: sampled))
            progress.detail = "\(result.cubes) cubes kept"
            progress.advance(work: 1)
            progress.finished(items: i + 1)
        }
        progress.finish()
        return result
    }

    /// "per scan: a.mhd 32 (40 draws, 8 rejected), b.nii 0 (axis z has 20 voxels; ...)".
    var summary: String {
        "per scan: " + scans.map { p in
            let name = CLIOutput.terminalSafe(p.file)
            if let why = p.sampled.skipped { return "\(name) 0 (\(why))" }
            return "\(name) \(p.sampled.count) (\(p.sampled.attempts) draws, \(p.sampled.rejected) rejected)"
        }.joined(separator: ", ")
    }

    func json(file: String, seed: UInt64, sampling s: CubeSampling, written: Bool) -> [String: Any?] {
        [
            "file": written ? file : nil,
            "shape": [cubes, 1] + s.size,
            "dtype": "float32",
            "cubes": cubes,
            "per_volume": s.perVolume,
            "seed": Int(truncatingIfNeeded: seed),
            "window": [s.window.low, s.window.high],
            "rule": [
                "border_xy": s.borderXY, "border_z": s.borderZ, "depth_look": s.depthLook,
                "threshold": s.threshold, "max_tissue": s.maxTissue, "attempts_per_cube": s.attemptsPerCube,
            ] as [String: Any],
            "volumes": scans.map { p -> [String: Any?] in
                [
                    "file": p.file, "format": p.format, "shape": p.shape, "cubes": p.sampled.count,
                    "attempts": p.sampled.attempts, "rejected": p.sampled.rejected,
                    "positions": p.sampled.positions, "skipped": p.sampled.skipped,
                ]
            },
        ]
    }
}

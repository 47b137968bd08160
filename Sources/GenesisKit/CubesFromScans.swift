import Tensors
import VolumeIO

/// `genesis cubes SCANS...`: each scan read, windowed and sampled in turn (one scan in memory
/// at a time; the kept cubes stay in memory until the file is written, capped at 2^30 values).
/// With masks (`--labels`): each mask read and checked beside its scan (CubeLabels), and its
/// raw voxels cut at the very corners of the image cubes.
public struct CubesFromScans {
    public struct PerScan {
        public let file: String
        public let shape: [Int]
        public let format: String
        public let sampled: SampledCubes
        /// The mask file and its largest class index, with --labels.
        public var labels: String? = nil
        public var largestClass: Int? = nil
    }

    /// What `--labels`, `--ignore-geometry` and `--positions-from-labels --foreground` ask.
    public struct Labels {
        public var masks: [String]
        public var ignoreGeometry = false
        /// With --positions-from-labels: the share of each scan's cubes holding foreground
        /// (a voxel other than 0); round(share x per-volume) of them, the rest none.
        public var foreground: Double? = nil
        public init(masks: [String], ignoreGeometry: Bool = false, foreground: Double? = nil) {
            self.masks = masks
            self.ignoreGeometry = ignoreGeometry
            self.foreground = foreground
        }
    }

    public var scans: [PerScan] = []
    public var values: [Float] = []
    /// The label cubes, as `values` (with --labels).
    public var labelValues: [Float] = []
    public var largestClass: Int { scans.compactMap(\.largestClass).max() ?? 0 }
    public var cubes: Int { scans.reduce(0) { $0 + $1.sampled.count } }

    /// Scan i draws from SeededGenerator(seed: seed ^ (i + 1) * golden): the same scan at the
    /// same place in the list gives the same cubes, whatever the other scans are.
    public static func cut(_ paths: [String], _ s: CubeSampling, seed: UInt64, labels: Labels? = nil, progress show: Bool) throws -> CubesFromScans {
        var result = CubesFromScans()
        let progress = ProgressMeter(label: "cubes", totalWork: Double(paths.count), totalItems: paths.count,
                                units: .init(item: "scans", rateLabel: "scans/s", rateScale: 1), enabled: show)
        for (i, path) in paths.enumerated() {
            let volume = try VolumeFile.read(path)
            var mask: Volume?, largest: Int?
            if let labels {
                let m = try VolumeFile.read(labels.masks[i])
                largest = try CubeLabels.check(mask: m, file: labels.masks[i], scan: volume, scanFile: path, ignoreGeometry: labels.ignoreGeometry)
                mask = m
            }
            var rng = SeededGenerator(seed: seed ^ (UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15))
            let sampled: SampledCubes
            if let mask, let share = labels?.foreground {
                let wantForeground = Int((share * Double(s.perVolume)).rounded())
                var kept = (foreground: 0, background: 0)
                sampled = CubeSampler.sample(volume, s, rng: &rng) { corner in
                    if CubeSampler.cubeHasForeground(mask.voxels, shape: mask.shape, corner: corner, size: s.size) {
                        guard kept.foreground < wantForeground else { return false }
                        kept.foreground += 1
                    } else {
                        guard kept.background < s.perVolume - wantForeground else { return false }
                        kept.background += 1
                    }
                    return true
                }
            } else {
                sampled = CubeSampler.sample(volume, s, rng: &rng)
            }
            result.values += sampled.values
            if let mask {
                for corner in sampled.positions {
                    CubeSampler.appendCube(mask.voxels, shape: mask.shape, corner: corner, size: s.size, to: &result.labelValues)
                }
            }
            result.scans.append(PerScan(file: path, shape: volume.shape, format: volume.format, sampled: sampled,
                                        labels: labels?.masks[i], largestClass: largest))
            progress.detail = "\(result.cubes) cubes kept"
            progress.advance(work: 1)
            progress.finished(items: i + 1)
        }
        progress.finish()
        return result
    }

    /// "per scan: a.mhd 32 (40 draws, 8 rejected), b.nii 0 (axis z has 20 voxels; ...)".
    public var summary: String {
        "per scan: " + scans.map { p in
            let name = TextFormat.terminalSafe(p.file)
            if let why = p.sampled.skipped { return "\(name) 0 (\(why))" }
            return "\(name) \(p.sampled.count) (\(p.sampled.attempts) draws, \(p.sampled.rejected) rejected)"
        }.joined(separator: ", ")
    }

    /// When draws were rejected and a scan gave fewer cubes than asked: the rule that refused
    /// them and the option that relaxes it.
    public func rejectionHint(_ s: CubeSampling, foreground: Bool) -> String? {
        let short = scans.filter { $0.sampled.skipped == nil && $0.sampled.count < s.perVolume && $0.sampled.rejected > 0 }
        guard !short.isEmpty else { return nil }
        let rejected = short.reduce(0) { $0 + $1.sampled.rejected }, draws = short.reduce(0) { $0 + $1.sampled.attempts }
        let also = foreground ? "; with --positions-from-labels a draw is also refused once its share (--foreground) of foreground or background cubes is full" : ""
        return "\(rejected) of \(draws) draws were rejected: a cube is kept only when its tissue score is at most --max-tissue (now \(s.maxTissue)) of its voxels, so cubes of mostly air and lung are kept; a larger --max-tissue (1 keeps every cube) or a scan with more air gives more cubes\(also)"
    }

    public func json(file: String, seed: UInt64, sampling s: CubeSampling, written: Bool,
              labelsOut: String? = nil, labelsShape: [Int]? = nil, foreground: Double? = nil) -> [String: Any?] {
        var j: [String: Any?] = [
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
                    "labels": p.labels, "largest_class": p.largestClass,
                ]
            },
        ]
        if let labelsOut {
            j["labels_out"] = written ? labelsOut : nil
            j["labels_shape"] = labelsShape
            j["classes"] = largestClass <= 1 ? 1 : largestClass + 1
            j["foreground"] = foreground
        }
        return j
    }
}

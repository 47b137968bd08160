import Tensors

/// The Models Genesis transforms as the official `generate_pair` composes them (keras/utils.py
/// and pytorch/utils.py of MrGiovanni/ModelsGenesis, which are identical), with the official
/// rates of config.py as defaults. For one sample of shape (1, rows, cols, deps):
///
///     y = copy(sample); x = copy(y)
///     x, y = data_augmentation(x, y, flip_rate)      # Flip: both alike; y is the target
///     x = local_pixel_shuffling(x, local_rate)        # LocalPixelShuffle
///     x = nonlinear_transformation(x, nonlinear_rate) # NonlinearIntensity
///     if random() < paint_rate:                       # Painting
///         x = in_painting(x) if random() < inpaint_rate else out_painting(x)
///
/// The target is the flipped original, never shuffled, mapped or painted.
///
/// Where the issue's summary and the official code differ, the code is followed:
/// - Local shuffling does not keep the cube's multiset of values: the overlapping blocks each
///   read the unshuffled cube and overwrite one another (see LocalPixelShuffle).
/// - Out-painting restores its boxes from the cube as transformed so far (after shuffling and
///   the intensity map), not from the original: only with those off are they the original.
/// - The "flipped" intensity curve is not `1 - curve` but x(s) paired with y(1 - s); its
///   endpoints swap (0 to 1, 1 to 0) rather than stay fixed (see NonlinearIntensity).
/// - Every integer draw in the transforms is Python's `random.randint`, both ends included;
///   numpy's `np.random.randint` (end excluded) does not appear in them. numpy is used for the
///   noise (`np.random.rand`, [0, 1)) and the shuffles (`np.random.shuffle`).
/// - In-painting can draw no box at all (probability 0.05): the cube then stays as it was.
/// Beyond the official code: sides and margins shrink to fit cubes too small for the official
/// bounds (the official code raises there; see PaintMargin and LocalPixelShuffle), and values
/// are float32 (the official cubes are float64) with the curve evaluated in Double.
public struct GenesisTransforms: Equatable, Sendable {
    public var flip: Flip
    public var shuffle: LocalPixelShuffle
    public var intensity: NonlinearIntensity
    public var painting: Painting

    public init(flip: Flip = Flip(), shuffle: LocalPixelShuffle = LocalPixelShuffle(),
                intensity: NonlinearIntensity = NonlinearIntensity(), painting: Painting = Painting()) {
        self.flip = flip
        self.shuffle = shuffle
        self.intensity = intensity
        self.painting = painting
    }

    /// The official configuration (config.py): flip 0.4, local 0.5, nonlinear 0.9, paint 0.9,
    /// outpaint 0.8.
    public static let official = GenesisTransforms()

    /// Every transform off: `pair` returns the cube twice.
    public static let identity = GenesisTransforms(flip: Flip(rate: 0), shuffle: LocalPixelShuffle(rate: 0),
                                                   intensity: NonlinearIntensity(rate: 0), painting: Painting(rate: 0))

    /// The network input and the target for one cube.
    public func pair(_ cube: Cube, rng: inout SeededGenerator) -> (input: Cube, target: Cube) {
        let p = transformedPair(cube, rng: &rng)
        return (p.input, p.target)
    }

    /// `pair` with a record of what was drawn.
    public func transformedPair(_ cube: Cube, rng: inout SeededGenerator) -> TransformedPair {
        var target = cube
        var record = TransformRecord()
        record.flipAxes = flip.draw(&rng)
        Flip.apply(record.flipAxes, to: &target)
        var input = target

        if rng.random() < shuffle.rate {
            record.shuffleBlocks = shuffle.apply(to: &input, rng: &rng)
        }
        if rng.random() < intensity.rate {
            let curve = intensity.draw(&rng)
            curve.apply(to: &input)
            record.curve = curve
        }
        if rng.random() < painting.rate {
            if rng.random() < painting.inpaintRate {
                record.painting = .inPainting
                record.paintBoxes = painting.inPaint(&input, rng: &rng)
            } else {
                record.painting = .outPainting
                record.paintBoxes = painting.outPaint(&input, rng: &rng)
            }
        }
        return TransformedPair(input: input, target: target, record: record)
    }
}

/// One pair and what made it.
public struct TransformedPair: Equatable, Sendable {
    public var input: Cube
    public var target: Cube
    public var record: TransformRecord
}

/// What the transforms drew for one cube.
public struct TransformRecord: Equatable, Sendable {
    /// Axes picked by the flip loop, in order (0 is the channel axis: no change).
    public var flipAxes: [Int] = []
    /// The shuffled blocks in the order written; nil when shuffling did not fire.
    public var shuffleBlocks: [CubeBox]?
    /// The intensity curve; nil when the map did not fire.
    public var curve: IntensityCurve?
    /// Which painting ran, if any.
    public var painting: Painting.Kind?
    /// In-painting: the boxes filled with noise; out-painting: the boxes restored.
    public var paintBoxes: [CubeBox] = []

    public init() {}

    /// A short summary, e.g. "flip rows,cols; shuffle; curve (flipped); out-painting 5 boxes".
    public var summary: String {
        var parts: [String] = []
        let flips = flipAxes.filter { $0 != 0 }.map { $0 == 1 ? "rows" : "cols" }
        if !flips.isEmpty { parts.append("flip " + flips.joined(separator: ",")) }
        if shuffleBlocks != nil { parts.append("shuffle") }
        if let c = curve { parts.append(c.flipped ? "curve (flipped)" : "curve") }
        if let p = painting { parts.append("\(p.rawValue) \(paintBoxes.count) box\(paintBoxes.count == 1 ? "" : "es")") }
        return parts.isEmpty ? "none" : parts.joined(separator: "; ")
    }
}

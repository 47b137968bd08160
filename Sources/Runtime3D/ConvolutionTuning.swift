/// The knobs of the convolutions' tiling and algorithm choice, passed in as a value and kept
/// by each op (nothing global: tests and benchmarks may use different tunings concurrently).
/// The defaults are the ones measured fastest on the full network (BENCHMARKS.md).
public struct ConvolutionTuning: Sendable, Equatable {
    /// Output rows per 2-D Winograd tile: 4 (F(4x4, 3x3), a quarter of im2col's multiplications)
    /// or 2 (F(2x4, 3x3), a third; smaller transformed filters).
    public var winograd2DHeightTile: Int
    /// Output rows per 2-D Winograd tile of the backward passes (the input gradient's flipped
    /// convolution and the weight gradient); nil: as the forward. The forward's rounding moves
    /// the ReLU and max-pool decisions of a step, the backward's only scales linearly into the
    /// gradients, so training may run its backward at F(4x4) and its forward at F(2x4).
    public var winograd2DBackwardHeightTile: Int?
    /// Fewest input channels for 2-D Winograd (its GEMMs reduce over only in, or in * 3;
    /// narrower layers use the 1-D form). 8: the official depth_1 (in = 32) runs 1.5x faster in
    /// 2-D than in 1-D with plane stacking.
    public var winograd2DMinChannels: Int
    /// Fewest output tiles per sample for 2-D Winograd (a sample with fewer runs im2col): its
    /// GEMMs multiply over at most one sample's tiles, and at the official deepest level
    /// (8x8x4, 16-32 tiles) they are so short that packing and transforms cost more than the
    /// multiplications saved: im2col ran the backward there 2-5x faster, the forward about as
    /// fast (BENCHMARKS.md "Training step"). 64 keeps Winograd from 16x16x8 (128-256 tiles) up.
    public var winograd2DMinTiles: Int
    /// 2-D Winograd: transform each input plane once per chunk of whole planes, with the depth
    /// taps as separate GEMMs (else each plane is transformed once per depth tap).
    public var planeStacking: Bool
    /// Fewest low-resolution voxels per sample from which kernel 3 over a part read through 2x
    /// upsampling runs by its 8 phases at the part's own resolution (Conv3D+UpsampledPhases);
    /// smaller parts are read through the upsampling by the algorithm. 8192: the official
    /// up_tr64's first layer (32x32x16 low) ran its forward in 371 ms instead of 426 ms; at
    /// up_tr128 (16x16x8) and below the phases' GEMMs (out x low columns x in) were slower.
    public var upsampledPhasesMinVoxels: Int
    /// Column-tile budget per worker, in floats (im2col columns, Winograd transformed inputs).
    public var tileFloats: Int
    /// Fewest GEMM columns per tile, so deep layers (large in * 27) still get wide GEMMs.
    public var minTileColumns: Int
    /// Tile budget per worker of the transposed convolution, in floats.
    public var transposedTileFloats: Int
    /// Weight-gradient size (values) from which the im2col weight gradient splits over blocks
    /// of 16 input channels (each owning its columns of dW) instead of per-worker copies of dW.
    public var channelBlockedWeightGradientMinimum: Int
    /// Multiply-adds of one call (batch included) below which a convolution runs its direct
    /// form with float64 GEMMs rounded once (`GEMM`, precise): the same bits on every CPU
    /// OpenBLAS supports, where sgemm's accumulation order follows the CPU's kernel and flips the
    /// ReLU and max-pool decisions of a small network (the reference training steps of the
    /// fixtures, 16x16x8 cubes, moved by 1.4x their tolerance between an AVX-512 and an AVX2
    /// machine). 2^26: every layer of the fixtures' networks at batch 2 is below it (the
    /// largest, up_tr64's first convolution: 21 M); every layer of the official network at
    /// batch 1 is above it (the smallest, depth_0: 113 M) but the final 1x1x1 convolution
    /// (8.4 M, 50 M at batch 6), so full-size work keeps the fast paths. 0 turns it off: the init's
    /// default, so an op built with a tuning of its own runs the algorithm it is given; the
    /// networks' tunings (`default`, the trainer's) use `preciseThreshold`.
    public var preciseMaxMultiplyAdds: Int

    /// 2^26 multiply-adds (see `preciseMaxMultiplyAdds`).
    public static let preciseThreshold = 1 << 26

    public init(winograd2DHeightTile: Int = 4, winograd2DBackwardHeightTile: Int? = nil, winograd2DMinChannels: Int = 8, winograd2DMinTiles: Int = 64, planeStacking: Bool = true, upsampledPhasesMinVoxels: Int = 8192,
                tileFloats: Int = 1 << 20, minTileColumns: Int = 128, transposedTileFloats: Int = 1 << 20,
                channelBlockedWeightGradientMinimum: Int = 1 << 20, preciseMaxMultiplyAdds: Int = 0) {
        precondition(winograd2DHeightTile == 2 || winograd2DHeightTile == 4, "2-D Winograd height tile must be 2 or 4")
        precondition(winograd2DMinTiles >= 1, "2-D Winograd's fewest tiles must be at least 1")
        precondition(tileFloats > 0 && minTileColumns > 0 && transposedTileFloats > 0, "tile sizes must be positive")
        precondition([nil, 2, 4].contains(winograd2DBackwardHeightTile), "2-D Winograd backward height tile must be 2 or 4")
        self.winograd2DHeightTile = winograd2DHeightTile
        self.winograd2DBackwardHeightTile = winograd2DBackwardHeightTile
        self.winograd2DMinChannels = winograd2DMinChannels
        self.winograd2DMinTiles = winograd2DMinTiles
        self.planeStacking = planeStacking
        self.upsampledPhasesMinVoxels = upsampledPhasesMinVoxels
        self.tileFloats = tileFloats
        self.minTileColumns = minTileColumns
        self.transposedTileFloats = transposedTileFloats
        self.channelBlockedWeightGradientMinimum = channelBlockedWeightGradientMinimum
        self.preciseMaxMultiplyAdds = preciseMaxMultiplyAdds
    }

    /// Whether a call of `multiplyAdds` runs precisely (see `preciseMaxMultiplyAdds`).
    public func runsPrecisely(multiplyAdds: Int) -> Bool { multiplyAdds < preciseMaxMultiplyAdds }

    /// The measured defaults, with small convolutions run precisely.
    public static let `default` = ConvolutionTuning(preciseMaxMultiplyAdds: preciseThreshold)

    /// The height tile the backward passes use.
    public var backwardHeightTile: Int { winograd2DBackwardHeightTile ?? winograd2DHeightTile }

    /// The tuning of the flipped convolution that computes an input gradient: its forward is
    /// a backward pass.
    var forBackward: ConvolutionTuning {
        var t = self
        t.winograd2DHeightTile = backwardHeightTile
        return t
    }
}

/// The network's wiring as data: channel plan and official PyTorch module paths.
/// Channel counts are multiples of the base width b; an input of 0 means the single image channel.
public enum Layout {
    /// (in, out) of blocks depth_0 ... depth_13 as multiples of b.
    public static let blockChannels: [(in: Int, out: Int)] = [
        (0, 1), (1, 2),      // level 0, then max-pool
        (2, 2), (2, 4),      // level 1, then max-pool
        (4, 4), (4, 8),      // level 2, then max-pool
        (8, 8), (8, 16),     // bottom
        (24, 8), (8, 8),     // up 2x, concat with depth_5
        (12, 4), (4, 4),     // up 2x, concat with depth_3
        (6, 2), (2, 2),      // up 2x, concat with depth_1
    ]

    /// Official PyTorch module of each block (`UNet3D` in `pytorch/unet3d.py`).
    public static let blockModules: [String] = [
        "down_tr64.ops.0", "down_tr64.ops.1",
        "down_tr128.ops.0", "down_tr128.ops.1",
        "down_tr256.ops.0", "down_tr256.ops.1",
        "down_tr512.ops.0", "down_tr512.ops.1",
        "up_tr256.ops.0", "up_tr256.ops.1",
        "up_tr128.ops.0", "up_tr128.ops.1",
        "up_tr64.ops.0", "up_tr64.ops.1",
    ]

    /// Up-convolutions in decoder order, and their channels as multiples of b.
    public static let upsamplerModules: [String] = ["up_tr256.up_conv", "up_tr128.up_conv", "up_tr64.up_conv"]
    public static let upsamplerChannels: [Int] = [16, 8, 4]

    public static let finalModule = "out_tr.final_conv"

    /// Block whose output is the skip input of decoder stage u (0: depth_5, 1: depth_3, 2: depth_1).
    public static let skipBlocks: [Int] = [5, 3, 1]
    /// Blocks followed by a 2x max-pool.
    public static let poolAfterBlocks: Set<Int> = [1, 3, 5]
    /// Blocks preceded by upsampling + concatenation (decoder stage = (block - 8) / 2).
    public static let upBeforeBlocks: Set<Int> = [8, 10, 12]
}

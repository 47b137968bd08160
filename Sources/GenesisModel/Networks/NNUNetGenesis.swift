/// The nnU-Net Genesis network (`genesis_nnunet_luna16_006.model`, schemas/nnunet-genesis.md) as
/// a `NetworkDescription`: nnU-Net v1's `Generic_UNet` with the arguments of the official
/// `competition/Genesis_nnUNet.py`: convolutional pooling (the first convolution of every stage
/// after the first is strided by the previous pool), convolutional upsampling (bias-less
/// `ConvTranspose3d` with kernel = stride = the pool), blocks Conv3d (with bias) -> InstanceNorm3d
/// (eps 1e-5, affine) -> LeakyReLU(0.01) (Dropout3d p=0 makes no module), widths doubling from
/// `baseFilters` and capped at `maxFilters`, bias-less 1x1x1 segmentation convolutions after every
/// decoder stage, of which only the last is the output (no deep supervision), as logits
/// (identity final nonlinearity).
///
/// Node names are the v1 `state_dict` module names, so parameters are named exactly as in the
/// file (`conv_blocks_context.0.blocks.0.conv.weight`, ...), and `parameters` lists them in the
/// file's order (`moduleOrder`: Generic_UNet registers the decoder blocks first).
extension NetworkDescription {
    /// The official pools: [2, 2, 2] four times, then [1, 2, 2] (stride 1 on D, the first
    /// spatial axis: 64 x 64 x 32 cubes reach the bottleneck as 4 x 2 x 1).
    public static let nnunetGenesisPools: [[Int]] = [[2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]]

    /// Generic_UNet's top-level modules in registration (state_dict) order.
    public static let nnunetModuleOrder = ["conv_blocks_localization", "conv_blocks_context", "tu", "seg_outputs"]

    /// `pools`: one per downsampling (per-axis factors, D, H, W); `kernels`: one per stage,
    /// `pools.count + 1` (default 3x3x3 everywhere; padding 1 on an axis of kernel 3, else 0, as
    /// Generic_UNet pads); `convsPerStage`: convolutions per encoder and decoder stage.
    public static func nnunetGenesis(inputChannels: Int = 1, baseFilters: Int = 32, maxFilters: Int = 320,
                                     pools: [[Int]] = nnunetGenesisPools, kernels: [[Int]]? = nil,
                                     labels: Int = 2, convsPerStage: Int = 2) -> NetworkDescription {
        let p = pools.count
        let kernels = kernels ?? [[Int]](repeating: [3, 3, 3], count: p + 1)
        precondition(p >= 1 && kernels.count == p + 1 && convsPerStage >= 1, "nnU-Net: pools.count + 1 kernels, at least one pool and one conv per stage")
        var net = NetworkDescription(inputChannels: inputChannels)
        net.moduleOrder = nnunetModuleOrder
        /// Generic_UNet's widths: level 0 is `baseFilters`, each next level twice the last, capped.
        var widths = [baseFilters]
        for _ in 0..<p { widths.append(min(2 * widths[widths.count - 1], maxFilters)) }

        /// `StackedConvLayers` under `prefix`: `count` blocks `<prefix>.blocks.<j>` (at least one,
        /// as Generic_UNet builds them), the first strided by `stride`; returns the last LeakyReLU.
        func stack(_ prefix: String, _ input: Int, _ cin: Int, _ cout: Int, count: Int, kernel: [Int], stride: [Int] = [1, 1, 1]) -> Int {
            var x = input
            for j in 0..<max(1, count) {
                let m = "\(prefix).blocks.\(j)"
                let spec = ConvolutionSpec(inChannels: j == 0 ? cin : cout, outChannels: cout, kernelSize: kernel, strides: j == 0 ? stride : [1, 1, 1],
                                           paddings: kernel.map { $0 == 3 ? 1 : 0 }, bias: true)
                x = net.add(m + ".conv", .conv(spec), [x])
                x = net.add(m + ".instnorm", .instanceNorm(channels: cout, affine: true, epsilon: 1e-5), [x])
                x = net.add(m + ".lrelu", .leakyReLU(slope: 0.01), [x])
            }
            return x
        }

        var x = 0
        var skips: [Int] = []
        for d in 0..<p {
            x = stack("conv_blocks_context.\(d)", x, d == 0 ? inputChannels : widths[d - 1], widths[d], count: convsPerStage,
                      kernel: kernels[d], stride: d == 0 ? [1, 1, 1] : pools[d - 1])
            skips.append(x)
        }
        x = stack("conv_blocks_context.\(p).0", x, widths[p - 1], widths[p], count: convsPerStage - 1, kernel: kernels[p], stride: pools[p - 1])
        x = stack("conv_blocks_context.\(p).1", x, widths[p], widths[p], count: 1, kernel: kernels[p])
        var below = widths[p]
        var seg = 0
        for u in 0..<p {
            let skipChannels = widths[p - 1 - u]
            let pool = pools[p - 1 - u]
            let up = net.add("tu.\(u)", .convTranspose(ConvolutionSpec(inChannels: below, outChannels: skipChannels, kernelSize: pool, strides: pool,
                                                                        paddings: [0, 0, 0], bias: false)), [x])
            let joined = net.add("concat \(u)", .concat, [up, skips[p - 1 - u]])
            // Generic_UNet gives decoder stage u the kernel of conv_kernel_sizes[-(u + 1)].
            x = stack("conv_blocks_localization.\(u).0", joined, 2 * skipChannels, skipChannels, count: convsPerStage - 1, kernel: kernels[p - u])
            x = stack("conv_blocks_localization.\(u).1", x, skipChannels, skipChannels, count: 1, kernel: kernels[p - u])
            seg = net.add("seg_outputs.\(u)", .conv(ConvolutionSpec(inChannels: skipChannels, outChannels: labels, kernel: 1, bias: false)), [x])
            below = skipChannels
        }
        net.outputs = [seg]
        return net
    }
}

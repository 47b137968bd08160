/// The Genesis 3D U-Net (schemas/genesis-architecture.md) as a `NetworkDescription`: 14
/// Conv3D(3x3x3, same, bias) -> BatchNorm -> ReLU blocks (`Layout.blockModules`), three 2x
/// max-pools, a decoder that doubles resolution (keras: `UpSampling3D(2)`, torch:
/// `ConvTranspose3d(C, C, 2, stride 2)` with bias) and concatenates [upsampled, skip], the final
/// 1x1x1 convolution and sigmoid (one label) or softmax over channels.
extension NetworkDescription {
    public static func genesisUNet(variant: Variant, baseFilters b: Int, labels: Int) -> NetworkDescription {
        var net = NetworkDescription(inputChannels: 1)
        var x = 0
        var skips: [Int] = []
        for level in 0..<3 {
            x = net.genesisBlock(2 * level, input: x, baseFilters: b, variant: variant)
            x = net.genesisBlock(2 * level + 1, input: x, baseFilters: b, variant: variant)
            skips.append(x)
            x = net.add("maxpool \(level)", .maxPool(size: 2), [x])
        }
        x = net.genesisBlock(6, input: x, baseFilters: b, variant: variant)
        x = net.genesisBlock(7, input: x, baseFilters: b, variant: variant)
        for u in 0..<3 {
            let c = Layout.upsamplerChannels[u] * b
            let up = variant == .keras
                ? net.add("upsample \(u)", .upsampleNearest(factor: 2), [x])
                : net.add(Layout.upsamplerModules[u], .convTranspose(ConvolutionSpec(inChannels: c, outChannels: c, kernel: 2, stride: 2, padding: 0)), [x])
            let joined = net.add("concat \(u)", .concat, [up, skips.removeLast()])
            x = net.genesisBlock(8 + 2 * u, input: joined, baseFilters: b, variant: variant)
            x = net.genesisBlock(9 + 2 * u, input: x, baseFilters: b, variant: variant)
        }
        x = net.add(Layout.finalModule, .conv(ConvolutionSpec(inChannels: 2 * b, outChannels: labels, kernel: 1)), [x])
        net.outputs = [labels == 1 ? net.add("sigmoid", .sigmoid, [x]) : net.add("softmax", .softmax, [x])]
        return net
    }

    /// Block `i` (`<module>.conv1` -> `<module>.bn1` -> `<module>.relu1`); returns the ReLU node.
    mutating func genesisBlock(_ i: Int, input: Int, baseFilters b: Int, variant: Variant) -> Int {
        let m = Layout.blockModules[i]
        let c = Layout.blockChannels[i]
        let spec = ConvolutionSpec(inChannels: c.in == 0 ? 1 : c.in * b, outChannels: c.out * b, kernel: 3)
        let conv = add(m + ".conv1", .conv(spec), [input])
        let bn = add(m + ".bn1", .batchNorm(channels: spec.outChannels, countsBatches: variant == .torch), [conv])
        return add(m + ".relu1", .relu, [bn])
    }
}

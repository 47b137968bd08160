/// The classification model of `genesis finetune --task classification` as a
/// `NetworkDescription`: the Genesis encoder (blocks depth_0 ... depth_7, with the U-Net's
/// module names and its first two max-pools) -> global average pooling -> `head.fc1`
/// Dense(16b -> 1024) -> ReLU -> `head.fc2` Dense(1024 -> K) -> sigmoid (K = 1) or softmax.
/// Output (N, K, 1, 1, 1); head tensors as `ClassifierHead` lists them.
extension NetworkDescription {
    public static func genesisClassifier(variant: Variant, baseFilters b: Int, classes: Int) -> NetworkDescription {
        var net = NetworkDescription(inputChannels: 1)
        var x = 0
        for i in 0..<8 {
            if i > 0, i % 2 == 0 { x = net.add("maxpool \(i / 2 - 1)", .maxPool(size: 2), [x]) }
            x = net.genesisBlock(i, input: x, baseFilters: b, variant: variant)
        }
        x = net.add("head.pool", .globalAveragePool, [x])
        x = net.add("head.fc1", .dense(inFeatures: 16 * b, outFeatures: ClassifierHead.hidden), [x])
        x = net.add("head.relu", .relu, [x])
        x = net.add("head.fc2", .dense(inFeatures: ClassifierHead.hidden, outFeatures: classes), [x])
        net.outputs = [classes == 1 ? net.add("sigmoid", .sigmoid, [x]) : net.add("softmax", .softmax, [x])]
        return net
    }
}

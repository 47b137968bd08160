/// The Keras model of a fine-tuned classifier: the official model's encoder layers (`input_1`,
/// `depth_0_conv` ... `depth_7_relu`, `max_pooling3d_1..3`, named as `unet_model_3d` names
/// them), then `global_average_pooling3d_1` (channels_first), `dense_1` (Dense(1024, relu),
/// the head's fc1) and `dense_2` (Dense(K, sigmoid for K = 1, else softmax), fc2). Keras Dense
/// kernels are (in, out): the transpose of the canonical (out, in).
///
/// The decoder and the 1x1x1 head are not part of this Keras model (a Keras user's classifier
/// has no decoder); `decoderLayers` lists the official model's layers that hold them, which a
/// Genesis Keras file keeps beside the model (`KerasWriter.extraLayersGroup`) so that it reads
/// back as a whole Genesis network.
extension KerasLayerPlan {
    public init(classifier arch: Architecture, classes: Int) {
        let full = KerasLayerPlan(arch).layers
        guard let last = full.firstIndex(where: { $0.name == "depth_7_relu" }) else { preconditionFailure("the plan has no depth_7_relu") }
        var out = Array(full[...last])
        var gap = Layer(name: "global_average_pooling3d_1", className: "GlobalAveragePooling3D", weights: [])
        gap.inputs = ["depth_7_relu"]
        out.append(gap)
        var previous = gap.name
        for (i, (name, weight, bias)) in ClassifierHead.kerasLayers.enumerated() {
            var d = Layer(name: name, className: "Dense", weights: [("kernel", weight), ("bias", bias)])
            d.inputs = [previous]
            d.units = i == 0 ? ClassifierHead.hidden : classes
            d.activation = i == 0 ? "relu" : (classes == 1 ? "sigmoid" : "softmax")
            out.append(d)
            previous = name
        }
        self.init(layers: out)
    }

    /// The official model's weighted layers that the classifier's Keras model leaves out
    /// (blocks 8-13, the up-convolutions of the torch variant, the final 1x1x1 convolution).
    public static func decoderLayers(_ arch: Architecture) -> [Layer] {
        let kept = Set(KerasLayerPlan(classifier: arch, classes: 1).layers.map(\.name))
        return KerasLayerPlan(arch).layers.filter { !$0.weights.isEmpty && !kept.contains($0.name) }
    }

    /// Whether this plan is a classifier's (ends in the head's Dense layers).
    public var isClassifier: Bool { layers.last?.className == "Dense" }
}

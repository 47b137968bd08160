/// The layers of the official Keras model (`keras/unet3d.py`) in `model.layers` order, with
/// the names Keras 2.2.4 gave them, and the canonical tensors each layer's weights hold.
public struct KerasLayerPlan: Sendable {
    public struct Layer: Sendable, Equatable {
        public let name: String
        public let className: String
        /// Canonical tensor names in Keras weight order, with the Keras weight name.
        public let weights: [(keras: String, canonical: String)]
        /// Layers whose outputs feed this one (the upsampled tensor first in concatenations).
        public var inputs: [String] = []
        /// Block index for `depth_*` layers, upsampler index for up layers, 14 for the final conv.
        public var block: Int?
        /// Dense layers: output units and activation (`relu`, `sigmoid`, `softmax`).
        public var units: Int?
        public var activation: String?

        public static func == (a: Layer, b: Layer) -> Bool {
            a.name == b.name && a.className == b.className && a.weights.map(\.keras) == b.weights.map(\.keras)
                && a.weights.map(\.canonical) == b.weights.map(\.canonical) && a.inputs == b.inputs && a.block == b.block
                && a.units == b.units && a.activation == b.activation
        }
    }

    public let layers: [Layer]

    public init(layers: [Layer]) { self.layers = layers }

    /// The plan for an architecture. The torch variant in Keras uses `Conv3DTranspose`
    /// (`deconvolution=True` in the official builder).
    public init(_ arch: Architecture) {
        var out: [Layer] = [Layer(name: "input_1", className: "InputLayer", weights: [])]
        var counters: [String: Int] = [:]
        func auto(_ prefix: String) -> String {
            counters[prefix, default: 0] += 1
            return "\(prefix)_\(counters[prefix]!)"
        }
        func block(_ i: Int) {
            let m = Layout.blockModules[i]
            out.append(Layer(name: "depth_\(i)_conv", className: "Conv3D",
                             weights: NameMaps.kerasConvOrder.map { (NameMaps.kerasWeight($0), m + ".conv1." + NameMaps.torchSuffix($0)) }))
            out.append(Layer(name: "depth_\(i)_bn", className: "BatchNormalization",
                             weights: NameMaps.kerasBNOrder.map { (NameMaps.kerasWeight($0), m + ".bn1." + NameMaps.torchSuffix($0)) }))
            out.append(Layer(name: "depth_\(i)_relu", className: "Activation", weights: []))
        }
        for i in 0..<8 {
            block(i)
            if Layout.poolAfterBlocks.contains(i) { out.append(Layer(name: auto("max_pooling3d"), className: "MaxPooling3D", weights: [])) }
        }
        for u in 0..<3 {
            if arch.variant == .torch {
                let m = Layout.upsamplerModules[u]
                out.append(Layer(name: auto("conv3d_transpose"), className: "Conv3DTranspose",
                                 weights: NameMaps.kerasUpOrder.map { (NameMaps.kerasWeight($0), m + "." + NameMaps.torchSuffix($0)) }))
            } else {
                out.append(Layer(name: auto("up_sampling3d"), className: "UpSampling3D", weights: []))
            }
            out.append(Layer(name: auto("concatenate"), className: "Concatenate", weights: []))
            block(8 + 2 * u)
            block(9 + 2 * u)
        }
        out.append(Layer(name: auto("conv3d"), className: "Conv3D",
                         weights: NameMaps.kerasConvOrder.map { (NameMaps.kerasWeight($0), Layout.finalModule + "." + NameMaps.torchSuffix($0)) }))
        out.append(Layer(name: auto("activation"), className: "Activation", weights: []))
        // Each layer takes the previous one's output; a concatenation also takes the skip.
        for i in 1..<out.count {
            out[i].inputs = [out[i - 1].name]
            if out[i].className == "Concatenate" {
                let stage = Int(out[i].name.split(separator: "_").last!)! - 1
                out[i].inputs.append("depth_\(Layout.skipBlocks[stage])_relu")
            }
            if let b = NameMaps.parseKerasBlockLayer(out[i].name)?.block { out[i].block = b }
        }
        out[out.count - 2].block = 14
        layers = out
    }
}

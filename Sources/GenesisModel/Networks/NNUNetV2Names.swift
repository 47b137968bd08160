import Tensors

/// nnU-Net v2's names for the nnU-Net Genesis network (schemas/nnunet-genesis.md, "Key map from
/// v1"): dynamic_network_architectures' `PlainConvUNet.state_dict()` for the same network, with
/// every alias it registers (`all_modules.0/1` beside `conv`/`norm`, the encoder again under
/// `decoder.encoder.`), and the biases v1 has no tensor for (`decoder.transpconvs.*.bias`,
/// `decoder.seg_layers.*.bias`), which a v1 network computes as zero.
public enum NNUNetV2Names {
    /// Top-level prefixes only a v2 `state_dict` has.
    public static let prefixes = ["encoder.stages.", "decoder.stages.", "decoder.encoder.stages.", "decoder.transpconvs.", "decoder.seg_layers."]

    /// Whether a (prefix-free) key is named as in a v2 `PlainConvUNet`.
    public static func isV2(_ key: String) -> Bool { prefixes.contains { key.hasPrefix($0) } }

    /// One v2 key and where it comes from: the v1 key holding its tensor, or nil for a v2-only
    /// bias (zero), with its shape; `primary` false for an alias of a key listed before it.
    public struct Key: Sendable, Equatable {
        public let name: String
        public let v1: String?
        public let shape: [Int]
        public let primary: Bool
    }

    /// Every v2 key of `a`'s network in `PlainConvUNet.state_dict()` order: the encoder, the
    /// encoder again under `decoder.encoder.`, the decoder stages, the transposed convolutions,
    /// the segmentation layers (each conv block: conv weight, bias, norm weight, bias, then
    /// `all_modules.0` and `.1` weight, bias).
    public static func keys(_ a: NNUNetArchitecture) -> [Key] {
        let p = a.pools.count, c = a.convsPerStage
        let shapes = Dictionary(uniqueKeysWithValues: a.network.parameters.map { ($0.name, $0.shape) })
        func block(_ v2: String, _ v1: String, primary: Bool = true) -> [Key] {
            var out: [Key] = []
            for (v2mod, v1mod) in [("conv", "conv"), ("norm", "instnorm"), ("all_modules.0", "conv"), ("all_modules.1", "instnorm")] {
                for leaf in ["weight", "bias"] {
                    let source = "\(v1).\(v1mod).\(leaf)"
                    out.append(Key(name: "\(v2).\(v2mod).\(leaf)", v1: source, shape: shapes[source] ?? [], primary: primary && !v2mod.hasPrefix("all_")))
                }
            }
            return out
        }
        /// The v1 block of convolution j of a stage whose v1 stack is split as (c - 1) + 1 blocks.
        func split(_ prefix: String, _ j: Int) -> String { j < c - 1 ? "\(prefix).0.blocks.\(j)" : "\(prefix).1.blocks.0" }
        var encoder: [Key] = []
        for s in 0...p {
            for j in 0..<c {
                encoder += block("encoder.stages.\(s).0.convs.\(j)", s < p ? "conv_blocks_context.\(s).blocks.\(j)" : split("conv_blocks_context.\(p)", j))
            }
        }
        var out = encoder
        out += encoder.map { Key(name: "decoder." + $0.name, v1: $0.v1, shape: $0.shape, primary: false) }
        for u in 0..<p {
            for j in 0..<c { out += block("decoder.stages.\(u).convs.\(j)", split("conv_blocks_localization.\(u)", j)) }
        }
        for u in 0..<p {
            let w = shapes["tu.\(u).weight"] ?? []
            out.append(Key(name: "decoder.transpconvs.\(u).weight", v1: "tu.\(u).weight", shape: w, primary: true))
            out.append(Key(name: "decoder.transpconvs.\(u).bias", v1: nil, shape: [w.count > 1 ? w[1] : 0], primary: true))
        }
        for u in 0..<p {
            let w = shapes["seg_outputs.\(u).weight"] ?? []
            out.append(Key(name: "decoder.seg_layers.\(u).weight", v1: "seg_outputs.\(u).weight", shape: w, primary: true))
            out.append(Key(name: "decoder.seg_layers.\(u).bias", v1: nil, shape: [w.first ?? 0], primary: true))
        }
        return out
    }

    /// Whether a v2 `PlainConvUNet` holds `a`'s network: not with 1 convolution per stage, where
    /// Generic_UNet's bottleneck and decoder stages still have 2 (StackedConvLayers builds at
    /// least one block each) and PlainConvUNet's would have 1.
    public static func holds(_ a: NNUNetArchitecture) -> Bool { a.convsPerStage >= 2 }

    /// The v2 `state_dict` for v1 weights `v1` of network `a`: every key of `keys(a)`, aliases
    /// holding the same tensor, v2-only biases zero (float32, or the dtype of the weight beside it).
    public static func v2StateDict(_ v1: TensorStore, _ a: NNUNetArchitecture) -> TensorStore {
        var out = TensorStore()
        for k in keys(a) {
            if let source = k.v1 {
                if let t = v1[source] { out[k.name] = t }
            } else {
                out[k.name] = Tensor(shape: k.shape, floats: [Float](repeating: 0, count: k.shape.reduce(1, *)))
            }
        }
        return out
    }

    /// The v1 key a v2 key's tensor belongs under, without knowing the network: nil for a
    /// v2-only bias and for a key that is not a v2 name. `bottleneck` is the index of the last
    /// encoder stage (the pool count); `convs` the convolutions per stage.
    public static func v1Name(_ key: String, bottleneck p: Int, convs c: Int) -> String? {
        var parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.first == "decoder", parts.count > 1, parts[1] == "encoder" { parts.removeFirst() }
        func leafModule(_ mod: [String]) -> String? {
            switch mod.count {
            case 2 where ["conv", "norm"].contains(mod[0]) && ["weight", "bias"].contains(mod[1]):
                return (mod[0] == "conv" ? "conv" : "instnorm") + "." + mod[1]
            case 3 where mod[0] == "all_modules" && ["0", "1"].contains(mod[1]) && ["weight", "bias"].contains(mod[2]):
                return (mod[1] == "0" ? "conv" : "instnorm") + "." + mod[2]
            default: return nil
            }
        }
        func split(_ prefix: String, _ j: Int) -> String { j < c - 1 ? "\(prefix).0.blocks.\(j)" : "\(prefix).1.blocks.0" }
        // encoder.stages.<s>.0.convs.<j>.<mod...>
        if parts.count >= 7, parts[0] == "encoder", parts[1] == "stages", let s = Int(parts[2]), parts[3] == "0", parts[4] == "convs",
           let j = Int(parts[5]), s >= 0, s <= p, j >= 0, j < c, let leaf = leafModule(Array(parts[6...])) {
            return (s < p ? "conv_blocks_context.\(s).blocks.\(j)" : split("conv_blocks_context.\(p)", j)) + "." + leaf
        }
        // decoder.stages.<u>.convs.<j>.<mod...>
        if parts.count >= 6, parts[0] == "decoder", parts[1] == "stages", let u = Int(parts[2]), parts[3] == "convs", let j = Int(parts[4]),
           u >= 0, u < p, j >= 0, j < c, let leaf = leafModule(Array(parts[5...])) {
            return split("conv_blocks_localization.\(u)", j) + "." + leaf
        }
        if parts.count == 4, parts[0] == "decoder", let u = Int(parts[2]), u >= 0, u < p, parts[3] == "weight" {
            if parts[1] == "transpconvs" { return "tu.\(u).weight" }
            if parts[1] == "seg_layers" { return "seg_outputs.\(u).weight" }
        }
        return nil
    }

    /// Whether a key is one of the v2-only biases.
    public static func isV2Only(_ key: String) -> Bool {
        let parts = key.split(separator: ".")
        return parts.count == 4 && parts[0] == "decoder" && (parts[1] == "transpconvs" || parts[1] == "seg_layers") && Int(parts[2]) != nil && parts[3] == "bias"
    }

    /// The pool count and convolutions per stage a set of v2 keys shows: the last encoder stage's
    /// index, and one past the largest `convs.<j>` index of the encoder stages.
    public static func shape(of keys: [String]) -> (bottleneck: Int, convs: Int)? {
        var stage = -1, conv = -1
        for k in keys {
            var parts = k.split(separator: ".").map(String.init)
            if parts.first == "decoder", parts.count > 1, parts[1] == "encoder" { parts.removeFirst() }
            guard parts.count > 5, parts[0] == "encoder", parts[1] == "stages", let s = Int(parts[2]), parts[4] == "convs", let j = Int(parts[5]) else { continue }
            stage = max(stage, min(s, NNUNetArchitecture.maxPools))
            conv = max(conv, min(j, 64))
        }
        return stage >= 1 && conv >= 0 ? (stage, conv + 1) : nil
    }
}

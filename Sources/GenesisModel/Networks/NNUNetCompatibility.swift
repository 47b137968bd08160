import Tensors

/// The network an nnU-Net plans file describes for one configuration (nnU-Net v2
/// `configurations.<name>.architecture` of a `PlainConvUNet`, or a v1 stage's plan), with what
/// the tensors' meaning depends on: strides, the input channels and their normalisation.
public struct NNUNetPlansNetwork: Sendable, Equatable {
    /// `dynamic_network_architectures.architectures.unet.PlainConvUNet` (v1 plans: Generic_UNet, the same keys once mapped).
    public var className: String
    public var features: [Int]
    public var kernels: [[Int]]
    /// One per stage; the first is the first stage's own stride (normally [1, 1, 1]).
    public var strides: [[Int]]
    public var convsPerStage: [Int]
    public var convsPerDecoderStage: [Int]
    public var convBias: Bool
    /// `torch.nn.modules.instancenorm.InstanceNorm3d`, with its eps and affine.
    public var normOp: String
    public var normEpsilon: Double
    public var normAffine: Bool
    /// `torch.nn.LeakyReLU`, with its slope (default 0.01).
    public var nonlin: String
    public var nonlinSlope: Double
    /// One per input channel: `CTNormalization`, `ZScoreNormalization`, ...
    public var normalisationSchemes: [String]
    /// Channel 0's CT statistics (`foreground_intensity_properties_per_channel["0"]`): mean,
    /// std, and the clip range (`percentile_00_5`, `percentile_99_5`), when the plans have them.
    public var ctMean: Double?
    public var ctStd: Double?
    public var ctClip: (low: Double, high: Double)?

    public init(className: String, features: [Int], kernels: [[Int]], strides: [[Int]], convsPerStage: [Int], convsPerDecoderStage: [Int],
                convBias: Bool, normOp: String, normEpsilon: Double, normAffine: Bool, nonlin: String, nonlinSlope: Double,
                normalisationSchemes: [String], ctMean: Double? = nil, ctStd: Double? = nil, ctClip: (low: Double, high: Double)? = nil) {
        self.className = className
        self.features = features
        self.kernels = kernels
        self.strides = strides
        self.convsPerStage = convsPerStage
        self.convsPerDecoderStage = convsPerDecoderStage
        self.convBias = convBias
        self.normOp = normOp
        self.normEpsilon = normEpsilon
        self.normAffine = normAffine
        self.nonlin = nonlin
        self.nonlinSlope = nonlinSlope
        self.normalisationSchemes = normalisationSchemes
        self.ctMean = ctMean
        self.ctStd = ctStd
        self.ctClip = ctClip
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.className == b.className && a.features == b.features && a.kernels == b.kernels && a.strides == b.strides && a.convsPerStage == b.convsPerStage
            && a.convsPerDecoderStage == b.convsPerDecoderStage && a.convBias == b.convBias && a.normalisationSchemes == b.normalisationSchemes
    }

    public var inputChannels: Int { normalisationSchemes.count }

    /// `PlainConvUNet.state_dict()`'s keys without aliases, with shapes (seg layers: `labels`
    /// classes, which the plans do not hold: the dataset's labels do).
    func primaryKeys(labels: Int) -> [(name: String, shape: [Int])] {
        let n = features.count
        var out: [(String, [Int])] = []
        func block(_ prefix: String, _ cin: Int, _ cout: Int, _ k: [Int]) {
            out.append((prefix + ".conv.weight", [cout, cin] + k))
            if convBias { out.append((prefix + ".conv.bias", [cout])) }
            out.append((prefix + ".norm.weight", [cout]))
            out.append((prefix + ".norm.bias", [cout]))
        }
        for s in 0..<n {
            for j in 0..<(s < convsPerStage.count ? convsPerStage[s] : 0) {
                block("encoder.stages.\(s).0.convs.\(j)", j > 0 ? features[s] : s == 0 ? inputChannels : features[s - 1], features[s], kernels[s])
            }
        }
        for u in 0..<(n - 1) {
            let skip = n - 2 - u
            for j in 0..<(u < convsPerDecoderStage.count ? convsPerDecoderStage[u] : 0) {
                block("decoder.stages.\(u).convs.\(j)", j == 0 ? 2 * features[skip] : features[skip], features[skip], kernels[skip])
            }
        }
        for u in 0..<(n - 1) {
            out.append(("decoder.transpconvs.\(u).weight", [features[n - 1 - u], features[n - 2 - u]] + strides[n - 1 - u]))
            if convBias { out.append(("decoder.transpconvs.\(u).bias", [features[n - 2 - u]])) }
        }
        for u in 0..<(n - 1) {
            out.append(("decoder.seg_layers.\(u).weight", [labels, features[n - 2 - u], 1, 1, 1]))
            out.append(("decoder.seg_layers.\(u).bias", [labels]))
        }
        return out
    }
}

/// Whether an nnU-Net Genesis model's weights transfer to the network a plans file describes:
/// tensor by tensor under v2's names (aliases left out: they hold the same tensors), then one
/// verdict (schemas/nnunet-genesis.md, "Compatibility report").
public struct NNUNetCompatibility: Sendable {
    public enum Status: String, Sendable {
        /// Same name, shape and meaning.
        case transfers
        /// Present in both, another shape.
        case shape = "differs_in_shape"
        /// Same shape, another meaning (a stride, the input's channels or normalisation, the norm or nonlinearity).
        case meaning = "differs_in_meaning"
        /// In the plans' network only (the model has no such tensor).
        case onlyInPlans = "only_in_plans"
        /// In the model only (the plans' network has no such tensor).
        case onlyInModel = "only_in_model"
        /// Not loaded by nnU-Net's `load_pretrained_weights` (the segmentation layers, which
        /// depend on the dataset's labels), or a v2-only bias the model does not have.
        case skipped
    }

    public struct Entry: Sendable {
        public let tensor: String
        public let status: Status
        public let model: [Int]?
        public let plans: [Int]?
        public let reason: String
    }

    public enum Verdict: String, Sendable {
        case whole = "transfers whole"
        case encoderOnly = "transfers the encoder only"
        case none = "does not transfer"
    }

    public let entries: [Entry]
    public let verdict: Verdict
    /// What differs beyond shapes (strides, input, norm), in words.
    public let notes: [String]

    public static let segPrefix = "decoder.seg_layers."

    /// `normalisation`: the input normalisation the model was trained with (mean, std, clip).
    public static func compare(_ model: NNUNetArchitecture, weights: TensorStore, plans: NNUNetPlansNetwork,
                               normalisation: InputNormalisation) -> NNUNetCompatibility {
        let source = NNUNetV2Names.keys(model).filter { !$0.name.hasPrefix("decoder.encoder.") && !$0.name.contains(".all_modules.") }
        var modelShapes: [String: [Int]] = [:]
        for k in source { modelShapes[k.name] = k.v1.flatMap { weights[$0]?.shape } ?? k.shape }
        let v2Only = Set(source.filter { $0.v1 == nil }.map(\.name))
        let target = plans.primaryKeys(labels: model.labels)

        // Meaning that shapes do not show: what every tensor depends on, then per stage.
        var global: [String] = []
        if !plans.className.hasSuffix("PlainConvUNet"), !plans.className.hasSuffix("Generic_UNet") {
            global.append("network class \(plans.className), not PlainConvUNet or Generic_UNet (other keys and blocks)")
        }
        if !plans.normOp.hasSuffix("InstanceNorm3d") { global.append("norm \(plans.normOp), the model's is InstanceNorm3d") }
        if abs(plans.normEpsilon - 1e-5) > 1e-12 || !plans.normAffine { global.append("norm eps \(plans.normEpsilon) affine \(plans.normAffine), the model's 1e-05 affine") }
        if !plans.nonlin.hasSuffix("LeakyReLU") || abs(plans.nonlinSlope - 0.01) > 1e-12 { global.append("nonlinearity \(plans.nonlin) (slope \(plans.nonlinSlope)), the model's LeakyReLU 0.01") }
        var input: [String] = []
        if plans.inputChannels != model.inputChannels { input.append("\(plans.inputChannels) input channels, the model's \(model.inputChannels)") }
        let scheme = plans.normalisationSchemes.first ?? "none"
        let close = { (a: Double?, b: Double) in a.map { abs($0 - b) <= 1e-3 * max(1, abs(b)) } ?? false }
        if scheme != "CTNormalization" || !close(plans.ctMean, normalisation.mean) || !close(plans.ctStd, normalisation.std)
            || !close(plans.ctClip?.low, normalisation.low) || !close(plans.ctClip?.high, normalisation.high) {
            let stats = plans.ctMean.map { m in "mean \(m), std \(plans.ctStd ?? .nan), clip [\(plans.ctClip?.low ?? .nan), \(plans.ctClip?.high ?? .nan)]" } ?? "no CT statistics"
            input.append("input normalised by \(scheme) (\(stats)); the model was trained on \(normalisation.summary)")
        }
        var entries: [Entry] = []
        var seen = Set<String>()
        for (name, shape) in target {
            seen.insert(name)
            let m = modelShapes[name]
            if name.hasPrefix(segPrefix) {
                entries.append(Entry(tensor: name, status: .skipped, model: m, plans: shape, reason: "nnU-Net's load_pretrained_weights skips .seg_layers. (they follow the dataset's labels)"))
                continue
            }
            if v2Only.contains(name) {
                entries.append(Entry(tensor: name, status: .skipped, model: nil, plans: shape, reason: "v2-only bias: zero from the model (v1 has none)"))
                continue
            }
            guard let m else {
                entries.append(Entry(tensor: name, status: .onlyInPlans, model: nil, plans: shape, reason: "the model has no such tensor"))
                continue
            }
            if m != shape {
                entries.append(Entry(tensor: name, status: .shape, model: m, plans: shape, reason: "model \(m), plans \(shape)"))
                continue
            }
            var why = global
            if let s = encoderStage(name) {
                let modelStride = s == 0 ? [1, 1, 1] : s - 1 < model.pools.count ? model.pools[s - 1] : []
                if name.contains(".convs.0.conv."), s < plans.strides.count, plans.strides[s] != modelStride {
                    why.append("stride \(plans.strides[s]) in the plans, \(modelStride) in the model")
                }
                if s == 0, name.contains(".convs.0.") { why += input }
            } else if let u = decoderIndex(name), plans.features.count - 1 != model.pools.count {
                why.append("decoder stage \(u) joins skip level \(plans.features.count - 2 - u) in the plans, \(model.pools.count - 1 - u) in the model")
            }
            entries.append(Entry(tensor: name, status: why.isEmpty ? .transfers : .meaning, model: m, plans: shape, reason: why.joined(separator: "; ")))
        }
        for k in source where !seen.contains(k.name) && !v2Only.contains(k.name) {
            entries.append(Entry(tensor: k.name, status: .onlyInModel, model: modelShapes[k.name], plans: nil, reason: "the plans' network has no such tensor"))
        }
        let judged = entries.filter { $0.status != .skipped && $0.status != .onlyInModel }
        let encoderOK = judged.filter { encoderStage($0.tensor) != nil }.allSatisfy { $0.status == .transfers }
        let verdict: Verdict = !encoderOK ? .none : judged.allSatisfy { $0.status == .transfers } ? .whole : .encoderOnly
        return NNUNetCompatibility(entries: entries, verdict: verdict, notes: global + input)
    }

    /// The encoder stage a v2 key belongs to, nil for a decoder key.
    static func encoderStage(_ name: String) -> Int? {
        let p = name.split(separator: ".")
        guard p.count > 2, p[0] == "encoder", p[1] == "stages" else { return nil }
        return Int(p[2])
    }

    /// The decoder stage (or transposed convolution) a v2 key belongs to.
    static func decoderIndex(_ name: String) -> Int? {
        let p = name.split(separator: ".")
        guard p.count > 2, p[0] == "decoder", p[1] == "stages" || p[1] == "transpconvs" else { return nil }
        return Int(p[2])
    }

    /// How many tensors have each status.
    public var counts: [Status: Int] { entries.reduce(into: [:]) { $0[$1.status, default: 0] += 1 } }
}

import GenesisModel
import Tensors
import TorchFormat

/// Reads an nnU-Net v1 plans pickle (`nnUNetPlansv2.1_plans_3D.pkl`, what
/// `ExperimentPlanner3D_v21.save_my_plans` writes) with the safe data-pickle reader: no code is
/// named or run, numpy arrays and scalars are read as data. One stage's plan becomes the network
/// nnU-Net v1's trainer builds from it (`nnUNetTrainerV2.initialize_network`: Generic_UNet,
/// `base_num_features` doubling per stage up to Generic_UNet's 320, `conv_per_stage`
/// convolutions per stage with bias, InstanceNorm3d eps 1e-5 affine, LeakyReLU 0.01), with the
/// channel-0 CT statistics of `dataset_properties['intensityproperties']`.
enum NNUNetV1PlansReader {
    /// Generic_UNet.MAX_NUM_FILTERS_3D: v1 plans record no cap; the trainer uses this one.
    static let maxFeatures = 320

    /// `3d_fullres` (the last stage) and, with two stages, `3d_lowres` (stage 0); also `stageN`.
    static func configurations(_ plans: PickleData, _ path: String) throws -> [String] {
        let n = try stageCount(plans, path)
        return (n > 1 ? ["3d_fullres", "3d_lowres"] : ["3d_fullres"]) + (0..<n).map { "stage\($0)" }
    }

    static func read(_ bytes: [UInt8], path: String, configuration: String?) throws -> (name: String, network: NNUNetPlansNetwork) {
        let plans: PickleData
        do { plans = try DataPickle.load(bytes, file: path) } catch let e as TorchError {
            throw GenesisIOError.badPlans(file: path, field: "file", expected: "an nnU-Net v1 plans pickle of plain data", found: "\(e)")
        }
        func bad(_ field: String, _ expected: String, _ found: PickleData?) -> GenesisIOError {
            .badPlans(file: path, field: field, expected: expected, found: found?.kind ?? "absent")
        }
        guard case .dict = plans else { throw bad("(top)", "a dict of plans", plans) }
        let n = try stageCount(plans, path)
        let name = configuration ?? "3d_fullres"
        let stage: Int
        switch name {
        case "3d_fullres": stage = n - 1
        case "3d_lowres" where n > 1: stage = 0
        default:
            guard name.hasPrefix("stage"), let s = Int(name.dropFirst(5)), (0..<n).contains(s) else {
                throw GenesisIOError.badPlans(file: path, field: "plans_per_stage", expected: "a configuration named \(name)",
                                              found: try configurations(plans, path).joined(separator: ", "))
            }
            stage = s
        }
        let at = "plans_per_stage[\(stage)]"
        guard let p = plans["plans_per_stage"]?[stage] else { throw bad(at, "the stage's plan", nil) }
        func triples(_ key: String) throws -> [[Int]] {
            guard let list = p[key]?.items, list.count <= NNUNetArchitecture.maxPools + 1 else { throw bad("\(at).\(key)", "a list of [d, h, w]", p[key]) }
            return try list.map { x in
                guard let t = x.items?.compactMap(\.int), t.count == 3, t.allSatisfy({ (1...64).contains($0) }) else {
                    throw bad("\(at).\(key)", "three integers in 1...64 per entry", x)
                }
                return t
            }
        }
        let pools = try triples("pool_op_kernel_sizes"), kernels = try triples("conv_kernel_sizes")
        let stages = pools.count + 1
        guard (2...NNUNetArchitecture.maxPools + 1).contains(stages) else { throw bad("\(at).pool_op_kernel_sizes", "1 to \(NNUNetArchitecture.maxPools) pools", p["pool_op_kernel_sizes"]) }
        guard kernels.count == stages else { throw bad("\(at).conv_kernel_sizes", "\(stages) entries (one per stage)", p["conv_kernel_sizes"]) }
        guard let base = plans["base_num_features"]?.int, (1...4096).contains(base) else { throw bad("base_num_features", "an integer in 1...4096", plans["base_num_features"]) }
        let convs = plans["conv_per_stage"]?.int ?? 2
        guard (1...16).contains(convs) else { throw bad("conv_per_stage", "an integer in 1...16", plans["conv_per_stage"]) }
        guard case let .dict(schemesDict)? = plans["normalization_schemes"], (1...64).contains(schemesDict.count) else {
            throw bad("normalization_schemes", "a dict of 1 to 64 channels", plans["normalization_schemes"])
        }
        let schemes = try (0..<schemesDict.count).map { c -> String in
            guard let s = plans["normalization_schemes"]?[c]?.string else { throw bad("normalization_schemes[\(c)]", "a scheme name", plans["normalization_schemes"]?[c]) }
            return v2Scheme(s)
        }
        var features: [Int] = []
        var f = base
        for _ in 0..<stages {
            features.append(min(f, maxFeatures))
            f = min(f * 2, 1 << 20)
        }
        var network = NNUNetPlansNetwork(
            className: "nnunet.network_architecture.generic_UNet.Generic_UNet", features: features, kernels: kernels,
            strides: [[1, 1, 1]] + pools, convsPerStage: [Int](repeating: convs, count: stages),
            convsPerDecoderStage: [Int](repeating: convs, count: stages - 1), convBias: true,
            normOp: "torch.nn.modules.instancenorm.InstanceNorm3d", normEpsilon: 1e-5, normAffine: true,
            nonlin: "torch.nn.LeakyReLU", nonlinSlope: 1e-2, normalisationSchemes: schemes)
        if let props = plans["dataset_properties"]?["intensityproperties"]?[0] {
            network.ctMean = props["mean"]?.number
            network.ctStd = props["sd"]?.number
            if let lo = props["percentile_00_5"]?.number, let hi = props["percentile_99_5"]?.number { network.ctClip = (lo, hi) }
        }
        return (name, network)
    }

    private static func stageCount(_ plans: PickleData, _ path: String) throws -> Int {
        guard case let .dict(stages)? = plans["plans_per_stage"], (1...8).contains(stages.count) else {
            throw GenesisIOError.badPlans(file: path, field: "plans_per_stage", expected: "a dict of 1 to 8 stages", found: plans["plans_per_stage"]?.kind ?? "absent")
        }
        return stages.count
    }

    /// v1's scheme names as v2 calls the same normalisation.
    static func v2Scheme(_ v1: String) -> String {
        switch v1 {
        case "CT": return "CTNormalization"
        case "nonCT": return "ZScoreNormalization"
        case "noNorm": return "NoNormalization"
        default: return v1
        }
    }
}

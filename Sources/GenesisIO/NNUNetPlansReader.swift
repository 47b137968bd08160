import Foundation
import GenesisModel
import TorchFormat
import Tensors

/// Reads an nnU-Net v2 `nnUNetPlans.json`: one configuration's `architecture` (network class,
/// `arch_kwargs`), its `normalization_schemes`, and channel 0's CT statistics
/// (`foreground_intensity_properties_per_channel`). Every malformed field is a `badPlans` error
/// naming it, what was expected and what was found.
public enum NNUNetPlansReader {
    /// The file's largest accepted size (a real plans file is a few kilobytes).
    public static let maxBytes = 16 << 20

    /// The configurations the file has, in its order.
    public static func configurations(_ path: String) throws -> [String] {
        let bytes = try read(path)
        if isPickle(bytes) { return try NNUNetV1PlansReader.configurations(try DataPickle.load(bytes, file: path), path) }
        return try configurationsObject(try object(bytes, path), path).keys.sorted()
    }

    /// `configuration` nil: `3d_fullres` when present, else the only one. A v1 plans pickle
    /// (`nnUNetPlansv2.1_plans_3D.pkl`) is read by `NNUNetV1PlansReader`.
    public static func read(_ path: String, configuration: String? = nil) throws -> (name: String, network: NNUNetPlansNetwork) {
        let bytes = try read(path)
        if isPickle(bytes) { return try NNUNetV1PlansReader.read(bytes, path: path, configuration: configuration) }
        let root = try object(bytes, path)
        let configs = try configurationsObject(root, path)
        func bad(_ field: String, _ expected: String, _ found: Any?) -> GenesisIOError {
            .badPlans(file: path, field: field, expected: expected, found: found.map { "\($0)".prefix(80).description } ?? "absent")
        }
        let name: String
        if let c = configuration {
            guard configs[c] != nil else { throw bad("configurations", "a configuration named \(c)", configs.keys.sorted().joined(separator: ", ")) }
            name = c
        } else if configs["3d_fullres"] != nil {
            name = "3d_fullres"
        } else if configs.count == 1 {
            name = configs.keys.first!
        } else {
            throw bad("configurations", "3d_fullres or --configuration NAME", configs.keys.sorted().joined(separator: ", "))
        }
        guard let config = configs[name] as? [String: Any] else { throw bad("configurations.\(name)", "an object", configs[name]) }
        if config["architecture"] == nil, config["inherits_from"] != nil {
            throw bad("configurations.\(name).architecture", "an architecture of its own", "inherits_from \(config["inherits_from"]!) (name that configuration)")
        }
        let at = "configurations.\(name).architecture"
        guard let arch = config["architecture"] as? [String: Any] else { throw bad(at, "an object (nnU-Net >= 2.4 plans)", config["architecture"]) }
        guard let cls = arch["network_class_name"] as? String else { throw bad(at + ".network_class_name", "a string", arch["network_class_name"]) }
        guard let kw = arch["arch_kwargs"] as? [String: Any] else { throw bad(at + ".arch_kwargs", "an object", arch["arch_kwargs"]) }
        func ints(_ key: String) throws -> [Int] {
            guard let a = kw[key] as? [Any], let v = a.map({ ($0 as? NSNumber)?.intValue }) as? [Int], v.allSatisfy({ (1...4096).contains($0) }) else {
                throw bad(at + ".arch_kwargs." + key, "a list of integers in 1...4096", kw[key])
            }
            return v
        }
        func triples(_ key: String) throws -> [[Int]] {
            guard let a = kw[key] as? [Any] else { throw bad(at + ".arch_kwargs." + key, "a list of [d, h, w]", kw[key]) }
            return try a.map { x in
                guard let t = x as? [Any], t.count == 3, let v = t.map({ ($0 as? NSNumber)?.intValue }) as? [Int], v.allSatisfy({ (1...64).contains($0) }) else {
                    throw bad(at + ".arch_kwargs." + key, "three integers in 1...64 per stage", x)
                }
                return v
            }
        }
        guard let n = (kw["n_stages"] as? NSNumber)?.intValue, (2...NNUNetArchitecture.maxPools + 1).contains(n) else {
            throw bad(at + ".arch_kwargs.n_stages", "an integer in 2...\(NNUNetArchitecture.maxPools + 1)", kw["n_stages"])
        }
        func perStage(_ key: String, _ count: Int) throws -> [Int] {
            if let one = (kw[key] as? NSNumber)?.intValue { return [Int](repeating: one, count: count) }
            let v = try ints(key)
            guard v.count == count else { throw bad(at + ".arch_kwargs." + key, "\(count) entries", v) }
            return v
        }
        let features = try perStage("features_per_stage", n)
        let kernels = try triples("kernel_sizes"), strides = try triples("strides")
        guard kernels.count == n else { throw bad(at + ".arch_kwargs.kernel_sizes", "\(n) entries (n_stages)", kernels.count) }
        guard strides.count == n else { throw bad(at + ".arch_kwargs.strides", "\(n) entries (n_stages)", strides.count) }
        let normKw = kw["norm_op_kwargs"] as? [String: Any] ?? [:]
        let nonlinKw = kw["nonlin_kwargs"] as? [String: Any] ?? [:]
        guard let schemes = config["normalization_schemes"] as? [String], !schemes.isEmpty, schemes.count <= 64 else {
            throw bad("configurations.\(name).normalization_schemes", "a list of 1 to 64 names (one per input channel)", config["normalization_schemes"])
        }
        var network = NNUNetPlansNetwork(
            className: cls, features: features, kernels: kernels, strides: strides, convsPerStage: try perStage("n_conv_per_stage", n),
            convsPerDecoderStage: try perStage("n_conv_per_stage_decoder", n - 1), convBias: kw["conv_bias"] as? Bool ?? false,
            normOp: kw["norm_op"] as? String ?? "None", normEpsilon: (normKw["eps"] as? NSNumber)?.doubleValue ?? 1e-5,
            normAffine: normKw["affine"] as? Bool ?? false, nonlin: kw["nonlin"] as? String ?? "None",
            nonlinSlope: (nonlinKw["negative_slope"] as? NSNumber)?.doubleValue ?? 0.01, normalisationSchemes: schemes)
        if let props = (root["foreground_intensity_properties_per_channel"] as? [String: Any])?["0"] as? [String: Any] {
            let d = { (k: String) in (props[k] as? NSNumber)?.doubleValue }
            network.ctMean = d("mean")
            network.ctStd = d("std")
            if let lo = d("percentile_00_5"), let hi = d("percentile_99_5") { network.ctClip = (lo, hi) }
        }
        return (name, network)
    }

    static func read(_ path: String) throws -> [UInt8] {
        let size = try FileIO.size(of: path)
        guard size <= maxBytes else { throw GenesisIOError.badPlans(file: path, field: "file", expected: "at most \(maxBytes) bytes", found: "\(size) bytes") }
        return try FileIO.read(path, cap: maxBytes)
    }

    /// A pickle of protocol 2 or later starts with PROTO (0x80).
    static func isPickle(_ bytes: [UInt8]) -> Bool { bytes.count > 2 && bytes[0] == 0x80 && (2...5).contains(bytes[1]) }

    static func object(_ bytes: [UInt8], _ path: String) throws -> [String: Any] {
        guard let root = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw GenesisIOError.badPlans(file: path, field: "file", expected: "an nnU-Net v2 plans JSON object or a v1 plans pickle", found: "neither")
        }
        return root
    }

    static func configurationsObject(_ root: [String: Any], _ path: String) throws -> [String: Any] {
        guard let c = root["configurations"] as? [String: Any], !c.isEmpty else {
            throw GenesisIOError.badPlans(file: path, field: "configurations", expected: "an object of configurations", found: root["configurations"].map { "\($0)".prefix(80).description } ?? "absent")
        }
        return c
    }
}

import Foundation
import GenesisIO
import GenesisModel
import Runtime3D

extension Variant {
    /// How the official code of the variant's framework normalises when it predicts.
    public var officialBatchNormMode: BatchNormMode { self == .keras ? .inference : .batch }

    public var frameworkName: String { self == .keras ? "Keras" : "PyTorch" }
}

/// The stderr lines `run` prints when its BatchNorm mode or epsilon is not what the file's
/// framework would use, so a user who compares outputs knows why they differ.
public enum BatchNormNotes {
    public static func notes(loaded: LoadedModel, variant: Variant, mode: BatchNormMode, epsilon: Float, epsilonFlag: Bool) -> [String] {
        var out: [String] = []
        let official = variant.officialBatchNormMode
        if mode != official {
            let why = variant == .keras ? "Keras predict uses the moving statistics" : "the official ContBatchNorm3d always uses batch statistics"
            out.append("note: BatchNorm in \(mode.rawValue) mode; the \(variant.rawValue) variant's official mode is \(official.rawValue) (\(why)); drop --bn to use it")
        }
        let standard = variant.defaultBNEpsilon
        if epsilon != standard {
            let origin = epsilonFlag ? "--bn-epsilon" : "recorded in the file"
            out.append("note: BatchNorm epsilon \(epsilon) (\(origin)), not \(variant.frameworkName)'s default \(standard); --bn-epsilon \(standard) uses the default")
        } else if !epsilonFlag, let source = sourceVariant(loaded), source != variant {
            let modeHint = source.officialBatchNormMode != mode ? "--bn \(source.officialBatchNormMode.rawValue) " : ""
            out.append("note: this file was converted from a \(source.frameworkName) model (BatchNorm epsilon \(source.defaultBNEpsilon), \(source.officialBatchNormMode.rawValue) mode); running with \(variant.frameworkName)'s \(standard), \(mode.rawValue) mode; \(modeHint)--bn-epsilon \(source.defaultBNEpsilon) reproduces the source")
        }
        return out
    }

    /// The framework a converted file came from, when the file records it.
    public static func sourceVariant(_ loaded: LoadedModel) -> Variant? {
        guard let f = loaded.annotations[Converter.sourceFormatKey] ?? loaded.versions["source_format"], let kind = FormatKind(rawValue: f) else { return nil }
        return kind.framework.flatMap { Variant(rawValue: $0.rawValue) }
    }
}

/// Finite min, max and mean of the outputs, and how many were NaN or infinite.
public struct OutputStatistics {
    private var minimum = Float.infinity, maximum = -Float.infinity
    private var sum = 0.0
    private var finite = 0, nonFinite = 0

    public init() {}

    public mutating func add(_ values: [Float]) {
        for v in values {
            guard v.isFinite else { nonFinite += 1; continue }
            minimum = min(minimum, v)
            maximum = max(maximum, v)
            sum += Double(v)
            finite += 1
        }
    }

    public var json: [String: Any?] {
        ["min": finite > 0 ? Double(minimum) : nil, "max": finite > 0 ? Double(maximum) : nil,
         "mean": finite > 0 ? sum / Double(finite) : nil, "non_finite": nonFinite]
    }

    public var text: String {
        let base = finite > 0 ? String(format: "output min %.6f, max %.6f, mean %.6f", minimum, maximum, sum / Double(finite)) : "output has no finite value"
        return nonFinite > 0 ? base + ", \(nonFinite) NaN or Inf" : base
    }
}

/// Sizes written as 12G, 800M, 64K or plain bytes (powers of 1024).
public enum MemorySize {
    public static func parse(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).uppercased().replacingOccurrences(of: "B", with: "")
        let scale: Double
        var number = t
        switch t.last {
        case "K": scale = 1024; number.removeLast()
        case "M": scale = 1024 * 1024; number.removeLast()
        case "G": scale = 1024 * 1024 * 1024; number.removeLast()
        case "T": scale = 1024 * 1024 * 1024 * 1024; number.removeLast()
        default: scale = 1
        }
        guard let v = Double(number), v > 0, v * scale < 9e18 else { return nil }
        return Int(v * scale)
    }

    public static func format(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) : String(format: "%.0f MiB", Double(bytes) / Double(1 << 20))
    }
}

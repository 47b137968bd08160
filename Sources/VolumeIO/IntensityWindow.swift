import Tensors

/// An intensity window: values clipped to [low, high], then scaled to [0, 1], as the official
/// Models Genesis preprocessing does for CT (HU in [-1000, 1000]) and MRI ([0, 4000]). A window
/// may also take values to the clipped range first (v * inputScale + inputOffset: [0, 1] cubes
/// back to HU) and standardise instead of scaling ((v - mean) / std: nnU-Net Genesis's input).
public struct IntensityWindow: Sendable, Equatable, CustomStringConvertible {
    public let low: Double
    public let high: Double
    /// `ct`, `mri`, a network family's name (`nnunet-ct`), or nil for a window given as LO,HI.
    public let preset: String?
    /// Applied before clipping (1 and 0: none).
    public var inputScale: Double = 1
    public var inputOffset: Double = 0
    /// After clipping, (v - mean) / std instead of the scaling to [0, 1].
    public var standardisation: Standardisation?
    /// What a named window does, in words, when its name does not say it (`nnunet-ct`).
    public var summary: String?

    public struct Standardisation: Sendable, Equatable {
        public let mean: Double
        public let std: Double
        public init(mean: Double, std: Double) {
            self.mean = mean
            self.std = std
        }
    }

    /// CT: clip [-1000, 1000] HU (official `generate_pair` inputs).
    public static let ct = IntensityWindow(low: -1000, high: 1000, preset: "ct")
    /// MRI: clip [0, 4000].
    public static let mri = IntensityWindow(low: 0, high: 4000, preset: "mri")

    public init(low: Double, high: Double, preset: String? = nil) {
        self.low = low
        self.high = high
        self.preset = preset
    }

    /// `ct`, `mri` or `LO,HI` (finite, LO < HI; `-1000,400` is a window, not an option).
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "ct": self = .ct
        case "mri": self = .mri
        default:
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo.isFinite, hi.isFinite, lo < hi else { return nil }
            self.init(low: lo, high: hi)
        }
    }

    public var description: String {
        if let summary { return preset.map { "\($0) (\(summary))" } ?? summary }
        let range = "[\(Self.format(low)), \(Self.format(high))]"
        return preset.map { "\($0) \(range)" } ?? range
    }

    /// (v clipped to [low, high] - low) / (high - low), or standardised; NaN stays NaN. In
    /// double, rounded to float once.
    @inline(__always)
    public func apply(_ v: Double) -> Float {
        if v.isNaN { return Float(v) }
        guard inputScale != 1 || inputOffset != 0 || standardisation != nil else {
            return Float((min(max(v, low), high) - low) / (high - low))
        }
        let clipped = min(max(v * inputScale + inputOffset, low), high)
        guard let z = standardisation else { return Float((clipped - low) / (high - low)) }
        return Float((clipped - z.mean) / z.std)
    }

    /// The window as JSON: `low`, `high`, and for a window that does more, its name, input
    /// scale and offset, mean and std.
    public var json: [String: Any] {
        var out: [String: Any] = ["low": low, "high": high]
        guard inputScale != 1 || inputOffset != 0 || standardisation != nil else { return out }
        out["name"] = preset
        out["input_scale"] = inputScale
        out["input_offset"] = inputOffset
        out["mean"] = standardisation?.mean
        out["std"] = standardisation?.std
        return out
    }

    /// The window applied to every value of any numeric tensor, as float32.
    public func apply(to t: Tensor) -> Tensor {
        let values: [Float]
        switch t.dtype {
        case .float64:
            values = t.bytes.withUnsafeBytes { raw in raw.bindMemory(to: Double.self).map { apply($0) } }
        default:
            values = t.floats().map { apply(Double($0)) }
        }
        return Tensor(shape: t.shape, floats: values)
    }

    private static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}

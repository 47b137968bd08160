import GenesisModel
import Runtime3D
import VolumeIO

/// The `--window` choices of `run`: the generic windows (`ct`, `mri`, `LO,HI`: clip, scale to
/// [0, 1]) and every network family's named normalisations of its official input
/// (`NetworkFamily.inputWindows`: `nnunet-ct`, `nnunet-cubes`), and the window a whole scan
/// gets by default for a network (its family's `defaultScanWindow`).
public enum InputWindows {
    /// Every name `--window` takes besides `LO,HI` and `none`.
    public static var names: [String] { ["ct", "mri"] + NetworkFamilies.inputWindows.map(\.name) }

    /// A family's name, else `ct`, `mri` or `LO,HI` (`IntensityWindow(parsing:)`); nil otherwise.
    public static func parse(_ text: String) -> IntensityWindow? {
        if let n = NetworkFamilies.inputWindows.first(where: { $0.name == text.lowercased() }) { return window(n) }
        return IntensityWindow(parsing: text)
    }

    /// A family's normalisation as a window.
    public static func window(_ n: InputNormalisation) -> IntensityWindow {
        var w = IntensityWindow(low: n.low, high: n.high, preset: n.name)
        w.inputScale = n.inputScale
        w.inputOffset = n.inputOffset
        w.standardisation = .init(mean: n.mean, std: n.std)
        w.summary = n.summary
        return w
    }

    /// The window a whole scan gets when `--window` is not given: the network's family's.
    public static func defaultScanWindow(for network: any NetworkArchitecture) -> IntensityWindow {
        parse(NetworkFamilies.family(network.family).defaultScanWindow) ?? .ct
    }

    /// Said when the window chosen is another family's normalisation than the network's own.
    public static func foreignNote(_ window: IntensityWindow?, for network: any NetworkArchitecture) -> String? {
        guard let name = window?.preset, let owner = NetworkFamilies.all.first(where: { $0.inputWindows.contains { $0.name == name } }),
              owner.name != network.family else { return nil }
        let own = NetworkFamilies.family(network.family).defaultScanWindow
        return "note: --window \(name) is the \(owner.name.title) input; this \(network.family.title) was pretrained on --window \(own)"
    }

    /// Said when cubes run without `--window` on a network whose family names its own input
    /// normalisations (the cubes are taken as they are, which may not be what it expects).
    public static func cubesNote(for network: any NetworkArchitecture) -> String? {
        let own = NetworkFamilies.family(network.family).inputWindows
        guard !own.isEmpty else { return nil }
        return "note: cubes are taken as they are; \(network.family.title) expects its official normalised input: "
            + own.map { "--window \($0.name) for \($0.takes)" }.joined(separator: ", ")
    }
}

extension NetworkArchitecture {
    /// The BatchNorm statistics the official code predicts with (inference when the network has
    /// no BatchNorm: the mode changes nothing then).
    public var officialBatchNormMode: BatchNormMode { officialBatchStatistics == true ? .batch : .inference }

    /// What the network returns, from its description's last operation: `sigmoid`, `softmax` or
    /// `logits` (anything else: the network's raw output).
    public var outputKind: String {
        let net = network
        guard let o = net.outputs.first else { return "logits" }
        switch net.nodes[o].operation {
        case .sigmoid: return "sigmoid"
        case .softmax: return "softmax"
        default: return "logits"
        }
    }

    /// "a multiple of 8" when every axis takes the same, else "a multiple of 16 on D, 32 on H, 32 on W".
    public var spatialMultiplesText: String {
        let m = spatialMultiples
        return Set(m).count == 1 ? "a multiple of \(m[0])" : "a multiple of \(m[0]) on D, \(m[1]) on H, \(m[2]) on W"
    }
}

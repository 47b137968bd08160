import Tensors

/// A sibling of Models Genesis as its files lay it out (schemas/sibling-networks.md): a Genesis
/// U-Net trunk, named as in Genesis files once `trunkPrefixes` are stripped (so the Genesis
/// name maps and detection read it), plus a head of other tensors named here, each with a shape
/// pattern. A new sibling is one more value in `SiblingNetworks.all`.
public struct SiblingLayout: Sendable, Equatable {
    /// One dimension of a head tensor's shape: a constant of the official code, a multiple of
    /// the trunk's base width, or a width the file decides (the same letter is the same width in
    /// every tensor of the head).
    public enum Dim: Sendable, Equatable {
        case fixed(Int), base(Int), free(String)
    }

    public struct HeadTensor: Sendable, Equatable {
        /// Flat files: the `state_dict` key after `module.`; Keras files: `layer/weight`.
        public let name: String
        /// As the file stores it (Keras layout for Keras files).
        public let shape: [Dim]
        /// May be absent (`num_batches_tracked`, the embedding of the other encoding).
        public let optional: Bool

        public init(_ name: String, _ shape: [Dim], optional: Bool = false) {
            self.name = name
            self.shape = shape
            self.optional = optional
        }
    }

    /// `ynet3d-keras`, `ynet3d-torch`, `suprem-unet`.
    public let id: String
    /// The sibling networks whose files have this layout (`semantic-genesis`, `transvw`, `suprem`).
    public let networks: [String]
    public let title: String
    /// The official code the layout is read from.
    public let source: String
    /// Keras files (heads named `layer/weight`) or flat `state_dict` files.
    public let keras: Bool
    /// Flat files: prefixes the trunk's keys carry after `module.` (`backbone.`).
    public let trunkPrefixes: [String]
    /// Whether the trunk has the Genesis output layer (`out_tr.final_conv`); SuPreM's backbone
    /// has none (its segmentation comes from the Universal_model's dynamic heads).
    public let trunkHasOutput: Bool
    /// The head in words (what it computes from which trunk output).
    public let headSummary: String
    public let head: [HeadTensor]
    /// The free width that counts the head's classes (`K`), if any.
    public let classesDim: String?
    /// Lower-case parts of a file name that say which of `networks` it is.
    public let fileNameHints: [String: String]

    /// Keras files: the layers holding the head.
    public var headLayers: Set<String> {
        Set(head.compactMap { h in h.name.firstIndex(of: "/").map { String(h.name[..<$0]) } })
    }

    public var headNames: Set<String> { Set(head.map(\.name)) }

    /// The network a file is by its name, when the layout is more than one network's and the
    /// name says (the tensors cannot tell Semantic Genesis from TransVW); nil otherwise.
    public func network(fileName: String) -> String? {
        if networks.count == 1 { return networks[0] }
        let lower = fileName.lowercased()
        let said = Set(fileNameHints.filter { lower.contains($0.key) }.map(\.value))
        return said.count == 1 ? said.first : nil
    }

    /// Checks head tensors (`name -> tensor`, file layout) against the layout for a trunk of
    /// base width `b`: every required tensor present, every shape the pattern's (free widths the
    /// same across tensors). Returns the widths bound and the problems.
    public func check(_ tensors: TensorStore, baseFilters b: Int) -> (widths: [String: Int], problems: [Problem]) {
        var widths: [String: Int] = [:]
        var problems: [Problem] = []
        // Bind free widths from tensors whose shape has the pattern's rank, in order.
        for h in head {
            guard let t = tensors[h.name], t.shape.count == h.shape.count else { continue }
            for (d, n) in zip(h.shape, t.shape) { if case let .free(v) = d, widths[v] == nil { widths[v] = n } }
        }
        func show(_ s: [Int]) -> String { "(" + s.map(String.init).joined(separator: ",") + ")" }
        for h in head {
            let expected = h.shape.map { d -> Int? in
                switch d {
                case let .fixed(n): return n
                case let .base(m): return m * b
                case let .free(v): return widths[v]
                }
            }
            let shownExpected = "(" + expected.map { $0.map(String.init) ?? "?" }.joined(separator: ",") + ")"
            guard let t = tensors[h.name] else {
                if !h.optional {
                    problems.append(Problem(tensor: h.name, kind: .missing, expected: shownExpected, found: "absent",
                                            message: "\(h.name): missing from the \(title) head (expected \(shownExpected))"))
                }
                continue
            }
            if expected.count != t.shape.count || zip(expected, t.shape).contains(where: { $0 != nil && $0! != $1 }) {
                problems.append(Problem(tensor: h.name, kind: .shape, expected: shownExpected, found: show(t.shape),
                                        message: "\(h.name): wrong shape for the \(title) head: expected \(shownExpected), found \(show(t.shape))"))
            }
            if t.dtype.isFloatingPoint, case let (nan, inf) = Verification.nonFiniteCounts(t), nan + inf > 0 {
                problems.append(Problem(tensor: h.name, kind: .nonFinite, expected: "finite values", found: "\(nan) NaN, \(inf) Inf",
                                        message: "\(h.name): \(nan + inf) of \(t.elementCount) values are not finite"))
            }
        }
        return (widths, problems)
    }
}

/// A sibling's head as a file holds it: the layout it fits, the network the file is (when its
/// name says), the head's tensors under their layout names (file layout), and what is wrong.
public struct SiblingHead: Sendable {
    public let layout: SiblingLayout
    /// `semantic-genesis`, `transvw`, `suprem`; nil when the file could be either of the layout's networks.
    public let network: String?
    public let tensors: TensorStore
    /// Head name -> the name in the file (`module.clc_out.fc1.weight`, `cls_fc/cls_fc/kernel:0`).
    public let sourceNames: [String: String]
    /// Free widths bound by the tensors (`K`: classes).
    public let widths: [String: Int]
    public let problems: [Problem]

    public init(layout: SiblingLayout, network: String?, tensors: TensorStore, sourceNames: [String: String], widths: [String: Int], problems: [Problem]) {
        self.layout = layout
        self.network = network
        self.tensors = tensors
        self.sourceNames = sourceNames
        self.widths = widths
        self.problems = problems
    }

    public var classes: Int? { layout.classesDim.flatMap { widths[$0] } }
    /// "Semantic Genesis / TransVW" or the network the file name says.
    public var networkTitle: String { network.flatMap { SiblingNetworks.titles[$0] } ?? layout.networks.compactMap { SiblingNetworks.titles[$0] }.joined(separator: " or ") }
}

/// The siblings genesis reads (schemas/sibling-networks.md).
public enum SiblingNetworks {
    public static let titles = ["semantic-genesis": "Semantic Genesis", "transvw": "TransVW", "suprem": "SuPreM"]
    static let ynetHints = ["semantic": "semantic-genesis", "transvw": "transvw"]

    /// fhaghighi/SemanticGenesis and fhaghighi/TransVW keras/models/ynet3d.py `ynet_model_3d`:
    /// the Genesis `unet_model_3d` trunk (`depth_0..13`, `final_conv`) plus a block on
    /// `depth_7_relu` (`depth_14_conv` 3x3x3, 512 filters at base 32, `depth_14_bn`) -> global
    /// average pooling -> `cls_fc` Dense(1024, ReLU) -> `cls_output` Dense(44, softmax).
    public static let ynetKeras = SiblingLayout(
        id: "ynet3d-keras", networks: ["semantic-genesis", "transvw"], title: "Y-Net classification head (Keras ynet_model_3d)",
        source: "fhaghighi/SemanticGenesis and fhaghighi/TransVW keras/models/ynet3d.py",
        keras: true, trunkPrefixes: [], trunkHasOutput: true,
        headSummary: "depth_7_relu -> depth_14 Conv3D 3x3x3 -> BN -> ReLU -> GAP -> cls_fc Dense (ReLU) -> cls_output Dense (softmax)",
        head: [
            .init("depth_14_conv/kernel", [.fixed(3), .fixed(3), .fixed(3), .base(16), .free("F")]),
            .init("depth_14_conv/bias", [.free("F")]),
            .init("depth_14_bn/gamma", [.free("F")]), .init("depth_14_bn/beta", [.free("F")]),
            .init("depth_14_bn/moving_mean", [.free("F")]), .init("depth_14_bn/moving_variance", [.free("F")]),
            .init("cls_fc/kernel", [.free("F"), .free("H")]), .init("cls_fc/bias", [.free("H")]),
            .init("cls_output/kernel", [.free("H"), .free("K")]), .init("cls_output/bias", [.free("K")]),
        ],
        classesDim: "K", fileNameHints: ynetHints)

    /// fhaghighi/SemanticGenesis and fhaghighi/TransVW pytorch/models/ynet3d.py `YNet3D`: the
    /// Genesis `UNet3D` trunk (same module names) plus `clc_out` (ClassificationHead on out512:
    /// conv1 3x3x3 to 1024, bn1 ContBatchNorm3d, ReLU, AdaptiveAvgPool3d, fc1 Linear(1024, 44), softmax).
    public static let ynetTorch = SiblingLayout(
        id: "ynet3d-torch", networks: ["semantic-genesis", "transvw"], title: "Y-Net classification head (PyTorch YNet3D clc_out)",
        source: "fhaghighi/SemanticGenesis and fhaghighi/TransVW pytorch/models/ynet3d.py",
        keras: false, trunkPrefixes: [], trunkHasOutput: true,
        headSummary: "out512 -> clc_out.conv1 Conv3d 3x3x3 -> bn1 (batch statistics) -> ReLU -> AdaptiveAvgPool3d -> fc1 Linear -> softmax",
        head: [
            .init("clc_out.conv1.weight", [.free("H"), .base(16), .fixed(3), .fixed(3), .fixed(3)]),
            .init("clc_out.conv1.bias", [.free("H")]),
            .init("clc_out.bn1.weight", [.free("H")]), .init("clc_out.bn1.bias", [.free("H")]),
            .init("clc_out.bn1.running_mean", [.free("H")]), .init("clc_out.bn1.running_var", [.free("H")]),
            .init("clc_out.bn1.num_batches_tracked", [], optional: true),
            .init("clc_out.fc1.weight", [.free("K"), .free("H")]), .init("clc_out.fc1.bias", [.free("K")]),
        ],
        classesDim: "K", fileNameHints: ynetHints)

    /// MrGiovanni/SuPreM supervised_pretraining/backbone/Universal_model.py with the `unet`
    /// backbone (backbone/unet.py: the Genesis `UNet3D` without `out_tr`), saved from
    /// DistributedDataParallel as `{'net': state_dict, ...}`: keys `module.backbone.<trunk>` and
    /// `module.<head>` (precls_conv, GAP, controller, the organ embedding and text_to_vision).
    public static let supremUNet = SiblingLayout(
        id: "suprem-unet", networks: ["suprem"], title: "SuPreM Universal_model head (precls_conv, GAP, controller, organ embedding)",
        source: "MrGiovanni/SuPreM supervised_pretraining/backbone/Universal_model.py and backbone/unet.py",
        keras: false, trunkPrefixes: ["backbone."], trunkHasOutput: false,
        headSummary: "out512 -> GAP (GroupNorm, ReLU, pool, 1x1x1 to 256) and the organ embedding -> controller (dynamic 1x1x1 heads, 153 values per class) applied to precls_conv(out_up_64) (GroupNorm, ReLU, 1x1x1 to 8)",
        head: [
            .init("precls_conv.0.weight", [.base(2)]), .init("precls_conv.0.bias", [.base(2)]),
            .init("precls_conv.2.weight", [.fixed(8), .base(2), .fixed(1), .fixed(1), .fixed(1)]), .init("precls_conv.2.bias", [.fixed(8)]),
            .init("GAP.0.weight", [.base(16)]), .init("GAP.0.bias", [.base(16)]),
            .init("GAP.3.weight", [.fixed(256), .base(16), .fixed(1), .fixed(1), .fixed(1)]), .init("GAP.3.bias", [.fixed(256)]),
            .init("controller.weight", [.fixed(153), .fixed(512), .fixed(1), .fixed(1), .fixed(1)]), .init("controller.bias", [.fixed(153)]),
            // word_embedding (the official default): a buffer and a Linear; rand_embedding: an Embedding.
            .init("organ_embedding", [.free("K"), .fixed(512)], optional: true),
            .init("text_to_vision.weight", [.fixed(256), .fixed(512)], optional: true), .init("text_to_vision.bias", [.fixed(256)], optional: true),
            .init("organ_embedding.weight", [.free("K"), .fixed(256)], optional: true),
        ],
        classesDim: "K", fileNameHints: [:])

    public static let all: [SiblingLayout] = [ynetKeras, ynetTorch, supremUNet]
}

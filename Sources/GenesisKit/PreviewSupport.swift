import GenesisIO
import GenesisModel
import Pretext
import Runtime3D
import Tensors

/// `preview --model`: the model's restoration of the transformed cubes.
public enum PreviewRestoration {
    public struct Result {
        public var model: String
        public var mode: BatchNormMode
        public var cubes: [Cube]
    }

    public static func run(_ path: String, format: FormatKind?, inputs: [Cube], bn: BatchNormMode?, threads: Int) throws -> Result {
        let loaded = try ModelLoader.load(path, format: format)
        let arch = try loaded.architecture()
        let problems = Verification.verify(loaded.mapped, against: arch).problems.filter { $0.kind != .unexpected }
        guard problems.isEmpty else { throw Converter.Failure.invalidSource(file: path, problems: problems) }
        guard arch.labels == 1 else {
            throw WorkflowError(subject: path, message: "restoration needs a one-label model (the pretrained Genesis networks); this one has \(arch.labels) labels")
        }
        let mode = bn ?? arch.variant.officialBatchNormMode
        let net = try GenesisNetwork(architecture: arch, weights: loaded.mapped.store, bnEpsilon: loaded.effectiveBNEpsilon)
        let y = try net.forward(try Cube.batch(inputs), bn: mode, threads: threads)
        return Result(model: path, mode: mode, cubes: try Cube.cubes(of: y))
    }

    public static func mse(_ a: Cube, _ b: Cube) -> Double {
        zip(a.values, b.values).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(a.count)
    }
}

/// What the transforms drew for one cube, as JSON.
public enum PreviewRecordJSON {
    public static func object(_ r: TransformRecord, cube: Int) -> [String: Any?] {
        let curve: [String: Any]? = r.curve.map { c in
            ["flipped": c.flipped, "control_points": [[c.control1.x, c.control1.y], [c.control2.x, c.control2.y]]]
        }
        return ["cube": cube, "summary": r.summary, "flip_axes": r.flipAxes, "shuffled": r.shuffleBlocks != nil,
                "curve": curve, "painting": r.painting?.rawValue,
                "boxes": r.paintBoxes.map { ["start": $0.start, "sides": $0.sides] }]
    }
}

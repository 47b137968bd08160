import FormatNames
import GenesisIO
import GenesisModel
import Tensors
import TestSupport
import XCTest

/// nnU-Net Genesis recognised from the tensors alone (`NNUNetDetection`): the fixture written by
/// nnunet 1.7.1's own Generic_UNet (Tests/References/nnunet, base 4, cap 8, the official pools),
/// other configurations of the same network, every kind of damage named as for Genesis files,
/// and the two families kept apart.
final class NNUNetDetectionTests: XCTestCase {
    static var fixture: String { Fixtures.reference("nnunet/nnunet_tiny.model") }

    /// The fixture's state dict, in file order.
    func fixtureStore() throws -> TensorStore {
        var s = TensorStore()
        for (n, t) in try ModelLoader.load(Self.fixture).fileMapping.flatEntries { s[n] = t }
        return s
    }

    /// A flat store with every tensor of `arch`, values 0.01, keys optionally `module.`-prefixed.
    func store(_ arch: NNUNetArchitecture, prefix: String = "") -> TensorStore {
        var s = TensorStore()
        for p in arch.network.parameters { s[prefix + p.name] = Tensor(shape: p.shape, floats: [Float](repeating: 0.01, count: p.elementCount)) }
        return s
    }

    /// The tensors as a flat file maps them, then as the families recognise them.
    func recognise(_ s: TensorStore) -> (mapped: MappedTensors, match: FamilyMatch)? { NetworkFamilies.recognise(Mapping.fromFlat(s)) }

    func testTheFixtureIsRecognisedWithItsFactsFromTheTensorsAlone() throws {
        let model = try ModelLoader.load(Self.fixture)
        XCTAssertNil(model.detected, "not the Genesis U-Net")
        let arch = try XCTUnwrap(model.recognised?.architecture as? NNUNetArchitecture)
        XCTAssertEqual(arch.family, .nnunetV1GenericUNet)
        XCTAssertEqual(arch.variantName, "nnunet")
        XCTAssertEqual(arch.baseFilters, 4)
        XCTAssertEqual(arch.labels, 2)
        XCTAssertEqual(arch.pools, [[2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]])
        XCTAssertEqual(arch.maxFilters, 8)
        XCTAssertTrue(arch.maxFiltersReached)
        XCTAssertEqual(arch.widths, [4, 8, 8, 8, 8, 8])
        XCTAssertEqual(arch.kernels, [[Int]](repeating: [3, 3, 3], count: 6))
        XCTAssertEqual(arch.convsPerStage, 2)
        XCTAssertEqual(arch.inputChannels, 1)
        // The same network the description of the tests against PyTorch builds.
        XCTAssertEqual(arch.network, NetworkDescription.nnunetGenesis(baseFilters: 4, maxFilters: 8))
        XCTAssertEqual(arch.spatialMultiples, [16, 32, 32])
        XCTAssertEqual(arch.verify(model.mapped), [])
        XCTAssertEqual(arch.tensorCount, 98)
        XCTAssertEqual(arch.statisticsCount, 0)
        XCTAssertEqual(arch.facts.map(\.key), ["pools", "max_filters", "widths", "kernels", "convs_per_stage", "input_channels"])
        XCTAssertEqual(arch.description, "nnU-Net Genesis, base 4, cap 8, pools 2x2x2 x4, 1x2x2, 2 labels (logits)")
        XCTAssertTrue(model.recognised?.evidence.hasPrefix("32 of 32 kernels fit (98 of 98 tensors): widths 4, 8, 8, 8, 8, 8") ?? false,
                      model.recognised?.evidence ?? "")
        // SGD momentum over model.parameters(): 98 positions, seg_outputs.0-3 without a buffer.
        let optimizer = try XCTUnwrap(model.optimizer)
        XCTAssertEqual(optimizer.slots.count, 94)
        XCTAssertNil(optimizer.slots["seg_outputs.0.weight"])
        XCTAssertEqual(optimizer.slots["seg_outputs.4.weight"]?["momentum"]?.shape, [2, 4, 1, 1, 1])
        // Commands that take only the Genesis U-Net say what the file is.
        XCTAssertThrowsError(try model.architecture()) { e in
            XCTAssertEqual("\(e)", "\(Self.fixture): \(arch): this command takes the Models Genesis 3D U-Net only so far (verify, inspect, run and convert take this network too)")
        }
    }

    /// The official network and others: base, cap (reached or not), pools, kernels, convolutions
    /// per stage, input channels and labels all come back from the shapes, with or without `module.`.
    func testConfigurationsAreReadBackFromTheirShapes() throws {
        let cases: [NNUNetArchitecture] = [
            NNUNetArchitecture(baseFilters: 2, maxFilters: 20),
            NNUNetArchitecture(baseFilters: 3, maxFilters: 1000, maxFiltersReached: false),
            NNUNetArchitecture(inputChannels: 2, baseFilters: 4, maxFilters: 12, pools: [[1, 2, 2], [2, 2, 2], [2, 2, 1]],
                               kernels: [[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]], labels: 3, convsPerStage: 3),
        ]
        for expected in cases {
            for prefix in ["", "module."] {
                let (mapped, match) = try XCTUnwrap(recognise(store(expected, prefix: prefix)), "\(expected)")
                let found = try XCTUnwrap(match.architecture as? NNUNetArchitecture)
                XCTAssertEqual(found.maxFiltersReached, expected.maxFiltersReached, "\(expected)")
                XCTAssertEqual(found.widths, expected.widths)
                XCTAssertEqual(found.network, expected.network, "\(expected)")
                XCTAssertEqual(found.verify(mapped), [])
                XCTAssertEqual(mapped.hadModulePrefix, !prefix.isEmpty)
            }
        }
        // A cap no level reaches cannot be read: reported as not reached (JSON max_filters null).
        let open = try XCTUnwrap(recognise(store(cases[1]))?.match.architecture as? NNUNetArchitecture)
        XCTAssertEqual(open.facts.first { $0.key == "max_filters" }?.value, ArchitectureFact.Value.none)
        XCTAssertTrue(open.description.contains("no level at a cap"), open.description)
        // The official configuration: 98 tensors, 30,785,184 values.
        XCTAssertEqual(NNUNetArchitecture.official.trainableCount, 30_785_184)
        XCTAssertEqual(NNUNetArchitecture.official.widths, [32, 64, 128, 256, 320, 320])
    }

    /// The official file's shapes (base 32, cap 320, 2 labels; 98 tensors, 30,785,184 values):
    /// read back as the official network, with the cap and the [1, 2, 2] pool.
    func testTheOfficialShapesAreTheOfficialNetwork() throws {
        let (mapped, match) = try XCTUnwrap(recognise(store(.official)))
        let arch = try XCTUnwrap(match.architecture as? NNUNetArchitecture)
        XCTAssertEqual(arch, .official)
        XCTAssertEqual(arch.facts.first { $0.key == "max_filters" }?.value, .int(320))
        XCTAssertEqual(arch.facts.first { $0.key == "pools" }?.value, .intLists([[2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]]))
        XCTAssertEqual(arch.verify(mapped), [])
        XCTAssertEqual(arch.description, "nnU-Net Genesis, base 32, cap 320, pools 2x2x2 x4, 1x2x2, 2 labels (logits)")
    }

    /// A missing tensor, a wrong shape, NaN and stray keys: each named with tensor, kind,
    /// expected and found, under the file's own names; the network found stays the same.
    func testEachKindOfDamageIsNamed() throws {
        let clean = try fixtureStore()
        var damaged = clean
        damaged["conv_blocks_localization.2.1.blocks.0.conv.bias"] = nil
        damaged["conv_blocks_context.2.blocks.1.conv.weight"] = Tensor(shape: [6, 8, 3, 3, 3], floats: [Float](repeating: 0.1, count: 6 * 8 * 27))
        var w = clean["conv_blocks_context.0.blocks.0.instnorm.weight"]!.floats()
        w[1] = .nan
        w[2] = -.infinity
        damaged["conv_blocks_context.0.blocks.0.instnorm.weight"] = Tensor(shape: [4], floats: w)
        damaged["tu.0.bias"] = Tensor(shape: [8], floats: [Float](repeating: 0, count: 8))   // nnU-Net v2 has it; v1 does not
        damaged["extra.weight"] = Tensor(shape: [3], floats: [1, 2, 3])
        let (mapped, match) = try XCTUnwrap(recognise(damaged))
        let arch = try XCTUnwrap(match.architecture as? NNUNetArchitecture)
        XCTAssertEqual(arch.network, NetworkDescription.nnunetGenesis(baseFilters: 4, maxFilters: 8), "one damaged tensor does not move a vote")
        XCTAssertTrue(match.evidence.hasPrefix("31 of 32 kernels fit"), match.evidence)
        let problems = arch.verify(mapped).map { [$0.tensor, $0.kind.rawValue, $0.expected, $0.found] }
        XCTAssertEqual(problems, [
            ["conv_blocks_localization.2.1.blocks.0.conv.bias", "missing", "(8)", "absent"],
            ["conv_blocks_context.0.blocks.0.instnorm.weight", "non_finite", "finite values", "1 NaN, 1 Inf"],
            ["conv_blocks_context.2.blocks.1.conv.weight", "shape", "(8,8,3,3,3)", "(6,8,3,3,3)"],
            ["tu.0.bias", "unexpected", "absent", "float32 (8)"],
            ["extra.weight", "unexpected", "absent", "float32 (3)"],
        ])
        // With the DataParallel prefix, every name is the file's own.
        var prefixed = TensorStore()
        for (n, t) in damaged.entries { prefixed["module." + n] = t }
        let (pm, pmatch) = try XCTUnwrap(recognise(prefixed))
        let names = try XCTUnwrap(pmatch.architecture).verify(pm).map(\.tensor)
        XCTAssertEqual(names.first, "module.conv_blocks_localization.2.1.blocks.0.conv.bias")
        XCTAssertTrue(names.allSatisfy { $0.hasPrefix("module.") }, "\(names)")
    }

    /// Genesis files are never nnU-Net networks and the reverse; a file with a few nnU-Net
    /// tensors is neither, and its verdict says how far each family got.
    func testTheFamiliesAreKeptApart() throws {
        let genesis = try ModelLoader.load(Fixtures.path("torch/genesis_tiny.pt"))
        XCTAssertEqual(genesis.recognised?.architecture.family, .modelsGenesisUNet3D)
        let nnunetView = try XCTUnwrap(NNUNetGenesisFamily().map(genesis.fileMapping))
        XCTAssertTrue(nnunetView.store.isEmpty)
        XCTAssertFalse(NNUNetGenesisFamily().match(nnunetView).anyTensorMapped)
        XCTAssertFalse(NetworkFamilies.verdict(genesis.fileMapping).contains("nnU-Net"))
        XCTAssertNil(NNUNetGenesisFamily().map(MappedTensors(naming: .keras2)), "Keras files hold no Generic_UNet")
        XCTAssertFalse(GenesisUNetFamily().match(try ModelLoader.load(Self.fixture).fileMapping).architecture != nil)

        var few = TensorStore()
        for (n, t) in try fixtureStore().entries where n.hasPrefix("tu.") { few[n] = t }
        XCTAssertNil(recognise(few))
        let verdict = NetworkFamilies.verdict(Mapping.fromFlat(few))
        XCTAssertTrue(verdict.hasPrefix("none of its tensors is a convolution or BatchNorm weight of the Genesis 3D U-Net; "
                                        + "not an nnU-Net Genesis network either: 5 of 32 kernels fit"), verdict)
    }

    /// `verify --variant nnunet --base-filters B`: the official network, or what the file shows.
    func testAnArchitectureAskedForByVariant() throws {
        let family = NNUNetGenesisFamily()
        let official = try XCTUnwrap(family.architecture(variant: "nnunet", baseFilters: 32, labels: nil, like: nil) as? NNUNetArchitecture)
        XCTAssertEqual(official, .official)
        let like = try ModelLoader.load(Self.fixture).recognised?.architecture
        let asked = try XCTUnwrap(family.architecture(variant: "nnunet", baseFilters: 8, labels: 3, like: like) as? NNUNetArchitecture)
        XCTAssertEqual(asked.maxFilters, 8)
        XCTAssertEqual(asked.labels, 3)
        XCTAssertEqual(asked.pools, NetworkDescription.nnunetGenesisPools)
        XCTAssertNil(family.architecture(variant: "torch", baseFilters: 8, labels: nil, like: nil))
        XCTAssertEqual(NetworkFamilies.family(ofVariant: "nnunet")?.name, .nnunetV1GenericUNet)
        XCTAssertEqual(NetworkFamilies.family(ofVariant: "keras")?.name, .modelsGenesisUNet3D)
        XCTAssertEqual(NetworkFamilies.all.map(\.name), NetworkFamilyName.allCases, "one family per name, in the table's order")
    }
}

import GenesisIO
import GenesisModel
import Tensors
import TestSupport
import TorchFormat
import XCTest

/// Sibling files read by the library (Tests/References/siblings): the trunk under the Genesis
/// names (the head set apart, prefixes stripped), detected; the head under its layout's names,
/// bit for bit the file's; written and read back with the head or without it.
final class SiblingReadingTests: XCTestCase {
    func fixture(_ name: String) -> String { Fixtures.reference("siblings/" + name) }

    func testEachSiblingsTrunkIsAGenesisNetworkAndItsHeadIsSetApart() throws {
        for (file, variant, layout, headCount) in [("semantic_genesis_chest_ct.tiny.h5", Variant.keras, "ynet3d-keras", 10),
                                                   ("TransVW_chest_ct.tiny.pt", .torch, "ynet3d-torch", 9),
                                                   ("supervised_suprem_unet.tiny.pth", .torch, "suprem-unet", 13)] {
            let m = try ModelLoader.load(fixture(file))
            let arch = try m.architecture()
            XCTAssertEqual(arch.variant, variant, file)
            XCTAssertEqual(arch.baseFilters, 2, file)
            let s = try XCTUnwrap(m.sibling, file)
            XCTAssertEqual(s.layout.id, layout, file)
            XCTAssertEqual(s.tensors.count, headCount, file)
            XCTAssertEqual(s.problems, [], file)
            XCTAssertEqual(m.problems(arch), [], file)
            XCTAssertTrue(m.mapped.unexpected.isEmpty, "\(file): \(m.mapped.unexpected.map(\.name))")
            XCTAssertTrue(m.head.isEmpty, "\(file): a sibling's head is not a genesis classifier's")
        }
    }

    /// The file's own tensors, bit for bit, whatever the prefixes (`module.backbone.` for SuPreM).
    func testTheTensorsAreTheFilesOwn() throws {
        let m = try ModelLoader.load(fixture("supervised_suprem_unet.tiny.pth"))
        let raw = try TorchReader.read(fixture("supervised_suprem_unet.tiny.pth")).stateDict
        XCTAssertEqual(m.mapped.hadModulePrefix, true)
        XCTAssertFalse(m.hasOutputLayer)
        XCTAssertEqual(m.mapped.store.count, 104)
        for (name, t) in m.mapped.store.entries {
            XCTAssertEqual(m.mapped.sourceNames[name], "module.backbone." + name)
            XCTAssertEqual(raw["module.backbone." + name]?.bytes, t.bytes, name)
        }
        let s = try XCTUnwrap(m.sibling)
        for (name, t) in s.tensors.entries { XCTAssertEqual(raw["module." + name]?.bytes, t.bytes, name) }
        XCTAssertEqual(s.classes, 25)
    }

    /// The same state dict bare (no `module.`, no checkpoint dict) is the same sibling.
    func testABareStateDictIsTheSameSibling() throws {
        var c = try TorchReader.read(fixture("TransVW_chest_ct.tiny.pt"))
        var bare = TensorStore()
        for (n, t) in c.stateDict.entries { bare[String(n.dropFirst("module.".count))] = t }
        c = TorchCheckpoint(stateDict: bare, stateDictKey: nil)
        let p = Fixtures.scratchDirectory() + "/ynet.pt"
        try TorchWriter.write(c, to: p, modulePrefix: false)
        let m = try ModelLoader.load(p)
        XCTAssertEqual(m.sibling?.layout.id, "ynet3d-torch")
        XCTAssertNil(m.sibling?.network, "the name says neither")
        XCTAssertEqual(m.detected?.architecture.labels, 1)
    }

    func testConvertWritesTheHeadOrTheTrunkAlone() throws {
        let dir = Fixtures.scratchDirectory()
        let source = try ModelLoader.load(fixture("TransVW_chest_ct.tiny.pt"))
        let kept = try Converter.convert(source, to: dir + "/kept.pt", format: .torch, options: WriteOptions(modulePrefix: true))
        XCTAssertEqual(kept.rereadModel.sibling?.tensors.names, source.sibling?.tensors.names)
        for (n, t) in source.sibling!.tensors.entries { XCTAssertEqual(kept.rereadModel.sibling?.tensors[n]?.bytes, t.bytes, n) }
        XCTAssertEqual(try TorchReader.read(dir + "/kept.pt").stateDict.names.last, "module.clc_out.fc1.bias")
        let trunk = try Converter.convert(source, to: dir + "/trunk.pt", format: .torch, options: WriteOptions(trunkOnly: true))
        XCTAssertNil(trunk.rereadModel.sibling)
        XCTAssertEqual(try TorchReader.read(dir + "/trunk.pt").stateDict.names, Architecture(variant: .torch, baseFilters: 2, labels: 1).tensors.map(\.name))
        XCTAssertThrowsError(try Converter.convert(source, to: dir + "/k.h5", format: .kerasH5)) { e in
            XCTAssertTrue("\(e)".contains("cannot hold the TransVW head"), "\(e)")
        }
    }
}

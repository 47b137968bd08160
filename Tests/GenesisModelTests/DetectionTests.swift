import GenesisIO
import GenesisModel
import Tensors
import TestSupport
import XCTest

/// Every Keras Genesis fixture is detected with the right variant and width and verifies clean;
/// changed tensors are named with expected and found.
final class DetectionTests: XCTestCase {
    func testEveryKerasFixtureVerifiesClean() throws {
        for (file, base) in [("keras/genesis_tiny.h5", 4), ("keras/genesis_tiny_weights.h5", 4), ("keras/genesis_chest_ct_shape.h5", 32),
                             ("keras3/genesis_tiny.weights.h5", 4), ("keras3/genesis_tiny.keras", 4)] {
            let m = try ModelLoader.load(Fixtures.path(file))
            let arch = try m.architecture()
            XCTAssertEqual(arch.variant, .keras, file)
            XCTAssertEqual(arch.baseFilters, base, file)
            XCTAssertEqual(arch.labels, 1, file)
            let report = Verification.verify(m.mapped, against: arch)
            XCTAssertEqual(report.problems, [], file)
        }
    }

    func testKeras3MapsByClassOrderToTheSameTensorsAsKeras2Names() throws {
        // genesis_tiny.keras and genesis_tiny.weights.h5 are one Keras 3 model saved two ways.
        let a = try ModelLoader.load(Fixtures.path("keras3/genesis_tiny.weights.h5")).mapped.store
        let b = try ModelLoader.load(Fixtures.path("keras3/genesis_tiny.keras")).mapped.store
        XCTAssertEqual(a.names.sorted(), b.names.sorted())
        for n in a.names { XCTAssertEqual(a[n], b[n], n) }
    }

    func testTorchNamesWithAndWithoutModulePrefix() {
        let arch = Architecture(variant: .torch, baseFilters: 2)
        let store = Initialization.heNormal(arch, seed: 1)
        for prefix in ["", "module."] {
            let m = Mapping.fromFlat(store.renamed { prefix + $0 })
            XCTAssertEqual(m.hadModulePrefix, !prefix.isEmpty)
            XCTAssertEqual(Detection.detect(m)?.architecture, arch)
            XCTAssertEqual(Verification.verify(m, against: arch).problems, [])
        }
    }

    func testEveryProblemIsListedNotOnlyTheFirst() {
        let arch = Architecture(variant: .torch, baseFilters: 2, labels: 3)
        var store = Initialization.heNormal(arch, seed: 1)
        store["down_tr128.ops.1.conv1.weight"] = Tensor(shape: [8, 4, 3, 3, 2], floats: [Float](repeating: 0, count: 8 * 4 * 18))
        store["up_tr64.ops.0.bn1.running_var"] = Tensor(shape: [4], floats: [1, 0, -1, .nan])
        store["down_tr64.ops.0.conv1.bias"] = nil
        store["extra.weight"] = Tensor(shape: [1], floats: [0])
        let m = Mapping.fromFlat(store)
        XCTAssertEqual(Detection.detect(m)?.architecture, arch)
        let kinds = Verification.verify(m, against: arch).problems.map { "\($0.kind.rawValue) \($0.tensor)" }
        XCTAssertEqual(Set(kinds), ["shape down_tr128.ops.1.conv1.weight", "non_finite up_tr64.ops.0.bn1.running_var",
                                    "bn_variance up_tr64.ops.0.bn1.running_var", "missing down_tr64.ops.0.conv1.bias",
                                    "unexpected extra.weight"])
    }

    func testNonFiniteValuesAreCountedByKind() throws {
        let arch = Architecture(variant: .torch, baseFilters: 2, labels: 1)
        var store = Initialization.heNormal(arch, seed: 2)
        let name = "down_tr256.ops.1.conv1.weight"
        var values = store[name]!.floats()
        (values[0], values[5], values[values.count - 1], values[77]) = (.nan, .infinity, -.infinity, -.nan)
        store[name] = Tensor(shape: store[name]!.shape, floats: values)
        let problems = Verification.verify(Mapping.fromFlat(store), against: arch).problems
        XCTAssertEqual(problems.map(\.kind), [.nonFinite])
        XCTAssertEqual(problems.first?.found, "2 NaN, 2 Inf")
    }

    func testKerasShapesAreReportedInKerasLayout() throws {
        let m0 = try ModelLoader.load(Fixtures.path("keras/genesis_tiny_weights.h5"))
        var m = m0.mapped
        // depth_2 is 2b -> 2b = 8 -> 8 at b = 4; give it 4 input channels.
        m.store["down_tr128.ops.0.conv1.weight"] = Tensor(shape: [8, 4, 3, 3, 3], floats: [Float](repeating: 0, count: 8 * 4 * 27))
        let p = try XCTUnwrap(Verification.verify(m, against: try m0.architecture()).problems.first)
        XCTAssertEqual(p.tensor, "depth_2_conv/kernel:0")
        XCTAssertEqual(p.expected, "(3,3,3,8,8)")
        XCTAssertEqual(p.found, "(3,3,3,4,8)")
        XCTAssertEqual(p.kind, .shape)
    }
}

import Foundation
import Tensors
import TestSupport
@testable import TorchFormat
import XCTest

/// The plain-data pickle reader on nnU-Net v1 plans written by nnU-Net 1.7.1's own planner
/// (scripts/make_nnunet_v1_plans.py, numpy 2 names), and on crafted hostile pickles: numpy's
/// array, dtype and scalar are read as data; anything else is refused by name; a checkpoint
/// may still not name numpy.
final class DataPickleTests: XCTestCase {
    func plans() throws -> PickleData {
        let path = Fixtures.reference("nnunet/nnUNetPlans_v1_genesis.pkl")
        return try DataPickle.load(try FileIO.read(path), file: path)
    }

    /// The values the planner printed when it wrote the file (the script's output).
    func testReadsTheV1PlannersPickle() throws {
        let p = try plans()
        XCTAssertEqual(p["base_num_features"], .int(32))
        XCTAssertEqual(p["num_stages"], .int(1))
        XCTAssertEqual(p["conv_per_stage"], .int(2))
        XCTAssertEqual(p["normalization_schemes"]?[0], .string("CT"))
        let stage = try XCTUnwrap(p["plans_per_stage"]?[0])
        XCTAssertEqual(stage["patch_size"], .array(shape: [3], values: [.int(64), .int(128), .int(128)]))
        XCTAssertEqual(stage["current_spacing"], .array(shape: [3], values: [.float(1), .float(1), .float(1)]))
        XCTAssertEqual(stage["pool_op_kernel_sizes"]?.items?.map { $0.items?.compactMap(\.int) ?? [] },
                       [[2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]])
        XCTAssertEqual(stage["do_dummy_2D_data_aug"], .bool(false), "a numpy bool scalar")
        // np.float32 scalars, exactly as float32: -775.84576, 251.93262 (printed), -1000, 1000.
        let ct = try XCTUnwrap(p["dataset_properties"]?["intensityproperties"]?[0])
        XCTAssertEqual(ct["mean"], .float(Double(Float(-775.84576))))
        XCTAssertEqual(ct["sd"], .float(Double(Float(251.93262))))
        XCTAssertEqual(ct["percentile_00_5"], .float(-1000))
        XCTAssertEqual(ct["percentile_99_5"], .float(1000))
        // transpose_forward holds np.int64(0) then plain ints.
        XCTAssertEqual(p["transpose_forward"], .list([.int(0), .int(1), .int(2)]))
    }

    func testHostileDataPicklesAreRefused() throws {
        func load(_ body: [UInt8]) -> TorchError? {
            do { _ = try DataPickle.load(Craft.pickle(body), file: "p.pkl"); return nil } catch { return error as? TorchError }
        }
        XCTAssertEqual(load(Craft.call("os", "system", "true")), .refusedGlobal(file: "p.pkl", name: "os.system"))
        XCTAssertEqual(load(Craft.global("torch._utils", "_rebuild_tensor_v2")), .refusedGlobal(file: "p.pkl", name: "torch._utils._rebuild_tensor_v2"))
        // An object array (its data a list, not bytes) is not data.
        let dtypeO = Craft.global("numpy", "dtype") + Craft.unicode("O8") + [Op.newFalse, Op.newTrue, Op.tuple3, Op.reduce]
        XCTAssertTrue(load(dtypeO)?.description.contains("a numeric dtype") ?? false)
        // An array whose bytes do not fill its shape.
        let f8 = Craft.global("numpy", "dtype") + Craft.unicode("f8") + [Op.newFalse, Op.newTrue, Op.tuple3, Op.reduce]
            + [Op.mark, Op.binint1, 3] + Craft.unicode("<") + [Op.none, Op.none, Op.none, Op.binint1, 0, Op.binint1, 0, Op.binint1, 0, Op.tuple, Op.build]
        let array = Craft.global("numpy._core.multiarray", "_reconstruct") + Craft.global("numpy", "ndarray")
            + [Op.binint1, 0, Op.tuple1, Op.shortBinbytes, 1, 0x62, Op.tuple3, Op.reduce]
            + [Op.mark, Op.binint1, 1, Op.binint1, 4, Op.tuple1] + f8 + [Op.newFalse, Op.shortBinbytes, 8] + [UInt8](repeating: 0, count: 8)
            + [Op.tuple, Op.build]
        XCTAssertTrue(load(array)?.description.contains("32 bytes for shape [4] of f8") ?? false, "\(String(describing: load(array)))")
        // Huge shapes are capped before anything is allocated.
        let huge = Craft.global("numpy._core.multiarray", "_reconstruct") + Craft.global("numpy", "ndarray")
            + [Op.binint1, 0, Op.tuple1, Op.shortBinbytes, 1, 0x62, Op.tuple3, Op.reduce]
            + [Op.mark, Op.binint1, 1, Op.binint, 0, 0, 0, 0x10, Op.binint, 0, 0, 0, 0x10, Op.tuple2] + f8 + [Op.newFalse, Op.shortBinbytes, 0, Op.tuple, Op.build]
        XCTAssertTrue(load(huge)?.description.contains("dimensions in 0...1048576") ?? false, "\(String(describing: load(huge)))")
    }

    /// numpy names stay out of torch checkpoints: a .pt naming numpy's scalar is refused there.
    func testCheckpointsMayNotNameNumpy() throws {
        let dir = Fixtures.scratchDirectory()
        let p = try Craft.zip(Craft.pickle(Craft.global("numpy.core.multiarray", "scalar")), in: dir, name: "np.pt")
        XCTAssertEqual(assertTorchError(try TorchReader.read(p)), .refusedGlobal(file: p, name: "numpy.core.multiarray.scalar"))
    }
}

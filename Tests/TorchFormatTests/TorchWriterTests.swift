import Foundation
import Tensors
import TestSupport
@testable import TorchFormat
import XCTest

/// read → write → read keeps every tensor bit-identical, with and without `module.` and
/// optimizer state; the pickle uses only opcodes torch's safe loader accepts.
final class TorchWriterTests: XCTestCase {
    func roundTrip(_ c: TorchCheckpoint, modulePrefix: Bool, dir: String, name: String) throws -> TorchCheckpoint {
        let path = dir + "/" + name
        try TorchWriter.write(c, to: path, modulePrefix: modulePrefix)
        XCTAssertEqual(TorchReader.sniff(path), .zip)
        return try TorchReader.read(path)
    }

    func testGenesisRoundTripWithAndWithoutPrefix() throws {
        let dir = Fixtures.scratchDirectory()
        for fixture in ["torch/genesis_tiny.pt", "torch/genesis_tiny_legacy.pt"] {
            let original = try TorchReader.read(Fixtures.path(fixture))
            for prefix in [true, false] {
                let back = try roundTrip(original, modulePrefix: prefix, dir: dir, name: "rt.pt")
                XCTAssertEqual(back.format, .zip)
                XCTAssertEqual(back.hadModulePrefix, prefix, fixture)
                XCTAssertEqual(back.epoch, 3)
                XCTAssertEqual(back.stateDictKey, "state_dict")
                let expected = prefix ? original.stateDict : original.strippedStateDict
                XCTAssertEqual(back.stateDict.names, expected.names, fixture)
                for (name, t) in expected.entries {
                    XCTAssertEqual(back.stateDict[name], t, "\(fixture) \(name)")
                }
                XCTAssertEqual(back.optimizer, original.optimizer, fixture)
            }
        }
    }

    func testAdamAndSGDRoundTrip() throws {
        let dir = Fixtures.scratchDirectory()
        for fixture in ["formats/ckpt_adam.pt", "formats/ckpt_sgd.pt"] {
            let original = try TorchReader.read(Fixtures.path(fixture))
            let back = try roundTrip(original, modulePrefix: false, dir: dir, name: "opt.pt")
            XCTAssertEqual(back.stateDict, original.stateDict, fixture)
            XCTAssertEqual(back.optimizer, original.optimizer, fixture)
            XCTAssertEqual(back.epoch, original.epoch)
            XCTAssertNotNil(back.optimizer)
        }
    }

    func testBareStateDictAndOptimizerFreeCheckpoint() throws {
        let dir = Fixtures.scratchDirectory()
        let sd = try TorchReader.read(Fixtures.path("formats/sd_legacy.pt"))
        let bare = try roundTrip(sd, modulePrefix: false, dir: dir, name: "bare.pt")
        XCTAssertNil(bare.stateDictKey)
        XCTAssertEqual(bare.stateDict, sd.stateDict)

        let wrapped = TorchCheckpoint(epoch: 7, stateDict: sd.stateDict)
        let back = try roundTrip(wrapped, modulePrefix: true, dir: dir, name: "wrapped.pt")
        XCTAssertEqual(back.epoch, 7)
        XCTAssertNil(back.optimizer)
        XCTAssertTrue(back.hadModulePrefix)
        XCTAssertEqual(back.strippedStateDict, sd.stateDict)
    }

    /// torch <= 1.5 keyed optimizer state by `id(param)` (LONG1 ints past 2^31); the reader maps
    /// those through `param_groups[*].params` to positions.
    func testObjectIDKeyedOptimizerMapsToPositions() throws {
        let dir = Fixtures.scratchDirectory()
        let original = try TorchReader.read(Fixtures.path("torch/genesis_tiny.pt"))
        let opt = try XCTUnwrap(original.optimizer)
        // Pointer-like ids, deliberately not in position order.
        let ids = (0..<opt.parameterCount).map { Int64(140_241_000_000_000) + Int64((opt.parameterCount - $0) * 72) }
        let (pickle, storages) = try TorchWriter.encode(original, modulePrefix: true, parameterKeys: ids)
        XCTAssertTrue(pickle.contains(Op.long1), "ids past 2^31 need LONG1")
        let path = try Craft.zip(pickle, storages: storages, in: dir)
        let back = try TorchReader.read(path)
        let o = try XCTUnwrap(back.optimizer)
        XCTAssertEqual(o.keyStyle, .objectID)
        XCTAssertEqual(o.paramGroups[0].params, Array(0..<64))
        XCTAssertEqual(o.state, opt.state)
        XCTAssertEqual(back.stateDict, original.stateDict)
    }

    func testPickleEncodingDetails() throws {
        var w = PickleWriter()
        w.int(5); w.int(300); w.int(-1); w.int(70_000); w.int(1 << 31); w.int(-(1 << 40))
        w.float(0.1)
        XCTAssertEqual(Array(w.bytes.dropFirst(2)),
                       [Op.binint1, 5, Op.binint2, 0x2C, 0x01, Op.binint, 0xFF, 0xFF, 0xFF, 0xFF, Op.binint, 0x70, 0x11, 0x01, 0x00,
                        Op.long1, 5, 0, 0, 0, 0x80, 0, Op.long1, 6, 0, 0, 0, 0, 0, 0xFF,
                        Op.binfloat, 0x3F, 0xB9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A])
        // Past memo index 255 the writer switches to LONG_BINPUT / LONG_BINGET.
        let c = try TorchReader.read(Fixtures.path("torch/genesis_tiny.pt"))
        let (pickle, storages) = try TorchWriter.encode(c, modulePrefix: true)
        XCTAssertTrue(pickle.contains(Op.longBinput))
        XCTAssertEqual(storages.count, 106 + 64)
        XCTAssertEqual(storages.map(\.key), (0..<170).map(String.init))
    }

    func testWriteIsAtomic() throws {
        let dir = Fixtures.scratchDirectory()
        let path = dir + "/target.pt"
        try Craft.write(Array("precious".utf8), to: path)
        // "module.a" and "a" collide once the prefix is stripped: refused before anything is written.
        let store = TensorStore([("module.a", Tensor(shape: [1], floats: [1])), ("a", Tensor(shape: [1], floats: [2]))])
        let e = assertTorchError(try TorchWriter.write(TorchCheckpoint(stateDict: store), to: path, modulePrefix: false))
        XCTAssertNotNil(e)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "precious")
        XCTAssertThrowsError(try TorchWriter.write(TorchCheckpoint(stateDict: store), to: dir + "/missing/dir/x.pt", modulePrefix: true))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["target.pt"], "no temporary file left behind")
    }

    /// Writes the files `scripts/interop_torch.py` checks with real torch: to
    /// $GENESIS_INTEROP_OUT when set, to scratch space otherwise (and reads each back).
    func testWritesInteropFiles() throws {
        let out = ProcessInfo.processInfo.environment["GENESIS_INTEROP_OUT"] ?? Fixtures.scratchDirectory()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let tiny = try TorchReader.read(Fixtures.path("torch/genesis_tiny.pt"))
        let legacy = try TorchReader.read(Fixtures.path("torch/genesis_tiny_legacy.pt"))
        let adam = try TorchReader.read(Fixtures.path("formats/ckpt_adam.pt"))
        let files: [(String, TorchCheckpoint, Bool)] = [
            ("tiny_module_sgd.pt", tiny, true),
            ("tiny_plain_sgd.pt", tiny, false),
            ("tiny_bare.pt", TorchCheckpoint(stateDict: tiny.strippedStateDict, stateDictKey: nil), false),
            ("legacy_to_zip.pt", legacy, true),
            ("small_adam.pt", adam, false),
        ]
        for (name, c, prefix) in files {
            let back = try roundTrip(c, modulePrefix: prefix, dir: out, name: name)
            XCTAssertEqual(back.strippedStateDict, c.strippedStateDict, name)
            XCTAssertEqual(back.optimizer, c.optimizer, name)
        }
    }
}

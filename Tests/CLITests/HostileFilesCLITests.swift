import Foundation
import Tensors
import TestSupport
@testable import TorchFormat
import XCTest
import ZIPFoundation

/// Issue 11 part 2, through the built binary under the same memory bound as the damaged files:
/// each hostile file of the issue is refused in one line of exit 2 that names the limit it hit,
/// without the work or memory it asks for.
final class HostileFilesCLITests: XCTestCase {
    struct Case {
        let name: String
        let bytes: [UInt8]
        /// What the error line must contain: the limit that refused it.
        let mentions: String
    }

    static func cases() throws -> [Case] {
        // 1.5 GiB of zeros in a 10 MB deflate stream, declared as 1,000 bytes: over the memory bound.
        let bomb = HostileFiles.zeroBomb(inflatingTo: 3 << 29)
        let config = try kerasConfig()
        let keras = HostileFiles.zip([.stored("metadata.json", Array(#"{"keras_version": "3.15.1"}"#.utf8)), .stored("config.json", config),
                                      .deflated("model.weights.h5", stream: bomb, declaredSize: 1000)])
        let torch = HostileFiles.zip([.deflated("archive/data.pkl", stream: bomb, declaredSize: 1000), .stored("archive/version", Array("3\n".utf8))])
        // The issue's pickle: one 8 MiB key, memoized, then stored 200,000 times.
        let key = 8 << 20
        var body: [UInt8] = [0x80, 0x02, Op.emptyDict, Op.binunicode] + (0..<4).map { UInt8((key >> (8 * $0)) & 0xFF) }
        body += [UInt8](repeating: UInt8(ascii: "k"), count: key) + [Op.binput, 0, Op.none, Op.setitem]
        body.reserveCapacity(body.count + 800_001)
        for _ in 1..<200_000 { body += [Op.binget, 0, Op.none, Op.setitem] }
        body.append(Op.stop)
        let pickleFile = Fixtures.scratchDirectory() + "/p.pt"
        try TorchZip.write(pickle: body, storages: [], root: "archive", to: pickleFile)
        let pickle = try FileIO.read(pickleFile)
        // The issue's safetensors header: 800,000 empty tensors.
        var header = "{"
        header.reserveCapacity(800_000 * 64)
        for i in 0..<800_000 { header += (i == 0 ? "" : ",") + "\"t\(i)\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}" }
        header += "}"
        let h = Array(header.utf8)
        let safetensors = (0..<8).map { UInt8((UInt64(h.count) >> (8 * UInt64($0))) & 0xFF) } + h
        // A torch tensor whose size claims 10^12 elements of a 4-element storage, and one whose
        // storage offset lies past the storage's end.
        let dir = Fixtures.scratchDirectory()
        let huge = dir + "/huge.pt", past = dir + "/past.pt"
        try TorchZip.write(pickle: tensorPickle(numel: 4, offset: 0, shape: [1_000_000, 1_000_000], stride: [1_000_000, 1]),
                           storages: [("0", [UInt8](repeating: 0, count: 16))], root: "archive", to: huge)
        try TorchZip.write(pickle: tensorPickle(numel: 4, offset: 1 << 40, shape: [4], stride: [1]),
                           storages: [("0", [UInt8](repeating: 0, count: 16))], root: "archive", to: past)
        return [Case(name: "size-10^12.pt", bytes: try FileIO.read(huge), mentions: "tensor w: unsupported layout"),
                Case(name: "offset-past-the-end.pt", bytes: try FileIO.read(past), mentions: "tensor w: unsupported layout"),
                Case(name: "bomb.keras", bytes: keras, mentions: "inflates past the 1000 bytes its zip header declares"),
                Case(name: "bomb.pt", bytes: torch, mentions: "archive/data.pkl: expected at most the 1000 bytes its zip header declares, found more"),
                Case(name: "big-key.pt", bytes: pickle, mentions: "pickle work (bytes copied, hashed and compared"),
                Case(name: "many.safetensors", bytes: safetensors, mentions: "more than 16384 tensors (the cap on tensors per file)")]
    }

    func testTheIssuesHostileFilesAreRefusedInOneLineNamingTheLimit() throws {
        let dir = Fixtures.scratchDirectory()
        let logs = dir + "/logs", out = dir + "/out"
        for d in [logs, out] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        for c in try Self.cases() {
            let path = dir + "/" + c.name
            try FileIO.write(c.bytes, to: path)
            for args in [["inspect", path], ["verify", path], ["convert", path, out + "/x.genesis"]] {
                let r = try ChildProcess.run(Fixtures.genesisBinary, args, memoryLimit: DamagedFilesCLITests.memoryBound,
                                             timeout: DamagedFilesCLITests.timeout, scratch: logs)
                let what = "\(c.name) \(args[0])"
                XCTAssertFalse(r.timedOut, "\(what) hung")
                XCTAssertNil(r.signal, "\(what) ended by a signal")
                XCTAssertEqual(r.status, 2, "\(what): \(r.stderr.prefix(300))")
                XCTAssertTrue(r.stderr.hasPrefix("genesis: error: ") && r.stderr.filter { $0 == "\n" }.count == 1, "\(what): \(r.stderr.prefix(300))")
                XCTAssertLessThan(r.stderr.count, 1000, "\(what): the line quotes too much")
                XCTAssertTrue(r.stderr.contains(c.mentions), "\(what): \(r.stderr.prefix(300))")
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [], "\(what) left output")
            }
        }
    }

    /// A state dict of one float tensor `w` viewing storage `0` of `numel` elements.
    static func tensorPickle(numel: Int, offset: Int, shape: [Int], stride: [Int]) -> [UInt8] {
        var w = PickleWriter()
        w.orderedDict()
        w.beginItems(1)
        w.string("w")
        w.global("torch._utils", "_rebuild_tensor_v2")
        w.beginTuple(6)
        w.beginTuple(5)
        w.string("storage")
        w.global("torch", "FloatStorage")
        w.string("0")
        w.string("cpu")
        w.int(Int64(numel))
        w.endTuple(5)
        w.op(Op.binpersid)
        w.int(Int64(offset))
        w.intTuple(shape)
        w.intTuple(stride)
        w.bool(false)
        w.orderedDict()
        w.endTuple(6)
        w.op(Op.reduce)
        w.endItems(1)
        w.stop()
        return w.bytes
    }

    /// config.json of the real Keras 3 fixture.
    static func kerasConfig() throws -> [UInt8] {
        let real = try Archive(url: URL(fileURLWithPath: Fixtures.path("keras3/genesis_tiny.keras")), accessMode: .read)
        var out: [UInt8] = []
        _ = try real.extract(try XCTUnwrap(real["config.json"])) { out += $0 }
        return out
    }
}

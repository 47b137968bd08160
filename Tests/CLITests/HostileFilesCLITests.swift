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
        return [Case(name: "bomb.keras", bytes: keras, mentions: "inflates past the 1000 bytes its zip header declares"),
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

    /// config.json of the real Keras 3 fixture.
    static func kerasConfig() throws -> [UInt8] {
        let real = try Archive(url: URL(fileURLWithPath: Fixtures.path("keras3/genesis_tiny.keras")), accessMode: .read)
        var out: [UInt8] = []
        _ = try real.extract(try XCTUnwrap(real["config.json"])) { out += $0 }
        return out
    }
}

import Foundation
import Tensors
import TestSupport
import XCTest

final class RunConvertCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    func testConvertReportsAnExactForwardProofAndLossyDeviation() throws {
        let dir = Fixtures.scratchDirectory()
        let exact = try genesis(["convert", Fixtures.path("keras/genesis_tiny.h5"), dir + "/a.pt", "--module-prefix", "--json"])
        XCTAssertEqual(exact.status, 0, exact.stderr)
        XCTAssertEqual(exact.json?["max_abs_diff"] as? Double, 0)  // identity up-convolutions: exact
        XCTAssertEqual(exact.json?["reread_bit_identical"] as? Bool, true)
        XCTAssertEqual(exact.json?["target_variant"] as? String, "torch")

        let refused = try genesis(["convert", Fixtures.path("torch/genesis_tiny.pt"), dir + "/b.h5", "--json"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue((refused.json?["error"] as? String ?? "").contains("--allow-lossy"), refused.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/b.h5"))

        let lossy = try genesis(["convert", Fixtures.path("torch/genesis_tiny.pt"), dir + "/b.h5", "--allow-lossy", "--json"])
        XCTAssertEqual(lossy.status, 0, lossy.stderr)
        XCTAssertEqual(lossy.json?["lossy"] as? Bool, true)
        XCTAssertGreaterThan(lossy.json?["max_abs_diff"] as? Double ?? 0, 1e-3)  // measured, not hidden
    }

    func testRunRefusesSidesNotDivisibleByEightAndWritesNothing() throws {
        let dir = Fixtures.scratchDirectory()
        // A hand-made .npy: header for float32 (1, 1, 12, 8, 8), then zeros.
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 12, 8, 8), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        let bytes = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header + [UInt8](repeating: 0, count: 12 * 64 * 4)
        try FileIO.write(bytes, to: dir + "/x.npy")
        let r = try genesis(["run", Fixtures.path("keras/genesis_tiny.h5"), "--input", dir + "/x.npy", "--output", dir + "/y.npy"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("multiple of 8"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/y.npy"))
    }
}

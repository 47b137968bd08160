import Foundation
import KerasFormat
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

    func testConvertWritesAFullSaveWithTheOptimizerByDefault() throws {
        let dir = Fixtures.scratchDirectory()
        let src = Fixtures.path("keras/genesis_tiny.h5")
        let r = try genesis(["convert", src, dir + "/out.h5"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try KerasReader.read(src), b = try KerasReader.read(dir + "/out.h5")
        XCTAssertEqual(b.layout, .fullSave)
        XCTAssertNotNil(b.config)
        XCTAssertEqual(b.optimizerWeights.count, a.optimizerWeights.count)  // 1 + 58 (fixtures/README: SGD, two steps)
        for (wa, wb) in zip(a.optimizerWeights, b.optimizerWeights) { XCTAssertEqual(wa.tensor, wb.tensor, wa.name) }

        let w = try genesis(["convert", src, dir + "/w.h5", "--weights-only"])
        XCTAssertEqual(w.status, 0, w.stderr)
        XCTAssertEqual(try KerasReader.read(dir + "/w.h5").layout, .weightsOnly)
        let alias = try genesis(["convert", src, dir + "/k.h5", "--keras-model"])  // the old flag: accepted, same result
        XCTAssertEqual(alias.status, 0, alias.stderr)
        XCTAssertEqual(try KerasReader.read(dir + "/k.h5").layout, .fullSave)
        XCTAssertEqual(try genesis(["convert", src, dir + "/x.h5", "--keras-model", "--weights-only"]).status, 2)
    }

    func testConvertRefusesToOverwriteItsInputByAnyName() throws {
        let dir = Fixtures.scratchDirectory()
        let input = dir + "/in.h5"
        try FileManager.default.copyItem(atPath: Fixtures.path("keras/genesis_tiny_weights.h5"), toPath: input)
        try FileManager.default.createSymbolicLink(atPath: dir + "/sym.h5", withDestinationPath: input)
        try FileManager.default.linkItem(atPath: input, toPath: dir + "/hard.h5")
        let before = try Checksum.sha256Hex(fileAt: input)
        for (inArg, outArg) in [(input, input), (input, dir + "/./in.h5"), (input, dir + "/sym.h5"), (input, dir + "/hard.h5"), (dir + "/sym.h5", input)] {
            let r = try genesis(["convert", inArg, outArg])
            XCTAssertEqual(r.status, 2, "\(inArg) -> \(outArg): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("refusing to write: it is the input file"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        XCTAssertEqual(try Checksum.sha256Hex(fileAt: input), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["hard.h5", "in.h5", "sym.h5"])
    }

    /// The option's entry in `--help`: from `--NAME <` up to the next option.
    func helpEntry(_ help: String, option: String) -> String {
        guard let start = help.range(of: "  \(option) <") else { return "" }
        let rest = help[start.upperBound...]
        let end = rest.range(of: "\n  --")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    func values(in entry: String) -> [String] {
        let flat = entry.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        guard let r = flat.range(of: "(values: ") else { return [] }
        let list = flat[r.upperBound...].prefix { $0 != ")" && $0 != ";" }
        return list.components(separatedBy: ", ")
    }

    func testFormatHelpListsEachValueOnceAndConvertOffersOnlyWritableFormats() throws {
        let all = ["keras-h5", "pt", "safetensors", "genesis", "keras3-weights", "keras", "onnx", "monai-bundle"]
        let writable = ["keras-h5", "pt", "safetensors", "genesis", "onnx", "monai-bundle"]
        for command in ["inspect", "verify"] {
            let help = try genesis([command, "--help"]).stdout
            let entry = helpEntry(help, option: "--format")
            XCTAssertEqual(values(in: entry), all, entry)
            XCTAssertEqual(entry.components(separatedBy: "keras3-weights").count - 1, 1, entry)
        }
        let help = try genesis(["convert", "--help"]).stdout
        let entry = helpEntry(help, option: "--format")
        XCTAssertEqual(values(in: entry), writable, entry)
        XCTAssertEqual(entry.components(separatedBy: "safetensors").count - 1, 1, entry)
        XCTAssertEqual(values(in: helpEntry(help, option: "--input-format")), all)
        XCTAssertEqual(values(in: helpEntry(try genesis(["init", "--help"]).stdout, option: "--format")), writable)

        let dir = Fixtures.scratchDirectory()
        let refused = try genesis(["convert", Fixtures.path("keras/genesis_tiny_weights.h5"), dir + "/x.out", "--format", "keras"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("The value 'keras' is invalid for '--format <format>'"), refused.stderr)
        for format in writable { XCTAssertTrue(refused.stderr.contains("- \(format)\n"), refused.stderr) }
        let byName = try genesis(["convert", Fixtures.path("keras/genesis_tiny_weights.h5"), dir + "/x.keras"])
        XCTAssertEqual(byName.status, 2)
        XCTAssertTrue(byName.stderr.contains("genesis reads but does not write"), byName.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }
}

import Foundation
import KerasFormat
import Tensors
import TestSupport
import XCTest

/// `init` writes the full Keras save by default; `inspect` names the writer of our files and
/// shows what a `.genesis` records (provenance, BN epsilon, source hash).
final class InspectProvenanceCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    func testInitWritesTheFullSaveByDefault() throws {
        let dir = Fixtures.scratchDirectory()
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--input-shape", "1,16,16,8", "--out", dir + "/m.h5"]).status, 0)
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--weights-only", "--out", dir + "/w.h5"]).status, 0)
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--keras-model", "--out", dir + "/k.h5"]).status, 0)
        let m = try KerasReader.read(dir + "/m.h5")
        XCTAssertEqual(m.layout, .fullSave)
        XCTAssertEqual(m.config?.inputShape, [1, 16, 16, 8])
        XCTAssertEqual(m.kerasVersion, "2.21.0")
        XCTAssertEqual(try KerasReader.read(dir + "/w.h5").layout, .weightsOnly)
        XCTAssertEqual(try KerasReader.read(dir + "/k.h5").layout, .fullSave)
        let refused = try genesis(["init", "--base-filters", "2", "--out", dir + "/x.weights.h5"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.weights.h5"))
    }

    func testInspectNamesTheWriterOfOurFilesAndOnlyThen() throws {
        let dir = Fixtures.scratchDirectory()
        let src = Fixtures.path("keras/genesis_tiny.h5")
        for out in ["a.h5", "a.pt", "a.safetensors", "a.genesis"] {
            XCTAssertEqual(try genesis(["convert", src, dir + "/" + out]).status, 0, out)
            let j = try XCTUnwrap(try genesis(["inspect", dir + "/" + out, "--json"]).json, out)
            XCTAssertEqual(j["writer"] as? String, "genesis 0.1.0", out)
            XCTAssertTrue(try genesis(["inspect", dir + "/" + out]).stdout.contains("\nwritten by: genesis 0.1.0\n"), out)
        }
        let fixture = try XCTUnwrap(try genesis(["inspect", src, "--json"]).json)
        XCTAssertTrue(fixture["writer"] is NSNull)  // tf_keras wrote it
        XCTAssertFalse(try genesis(["inspect", src]).stdout.contains("written by"))
    }

    func testInspectOfANativeFileShowsProvenanceEpsilonAndSourceHash() throws {
        let dir = Fixtures.scratchDirectory()
        let src = Fixtures.path("torch/genesis_tiny.pt")
        XCTAssertEqual(try genesis(["convert", src, dir + "/t.genesis"]).status, 0)
        let digest = try Checksum.sha256Hex(fileAt: src)
        let j = try XCTUnwrap(try genesis(["inspect", dir + "/t.genesis", "--json"]).json)
        XCTAssertEqual(j["bn_epsilon"] as? Double, 1e-5)  // PyTorch's (schemas/numerics.md)
        let p = try XCTUnwrap(j["provenance"] as? [String: Any])
        XCTAssertEqual(p["source_file"] as? String, "genesis_tiny.pt")
        XCTAssertEqual(p["source_sha256"] as? String, digest)
        XCTAssertEqual(p["source_format"] as? String, "pt")
        XCTAssertEqual(p["created_by"] as? String, "genesis 0.1.0")
        XCTAssertFalse((p["conversion"] as? [String] ?? []).isEmpty)
        XCTAssertEqual((j["training"] as? [String: Any])?["epoch"] as? Int, 3)  // fixtures/README: epoch 3
        let text = try genesis(["inspect", dir + "/t.genesis"]).stdout
        XCTAssertTrue(text.contains("batchnorm: epsilon 1e-05, momentum 0.1 (torch convention)"), text)
        XCTAssertTrue(text.contains("source: genesis_tiny.pt (pt, version zip)"), text)
        XCTAssertTrue(text.contains("source sha256: \(digest)"), text)
        XCTAssertTrue(text.contains("training: epoch 3"), text)
    }
}

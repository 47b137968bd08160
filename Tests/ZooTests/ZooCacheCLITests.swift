import Foundation
import Tensors
import TestSupport
import XCTest
@testable import Zoo

/// `zoo import`, files shipped beside a manifest, `zoo verify`, `path`, `remove`, and the
/// `sha256` / `zoo_match` of `inspect` and `verify`, on the real binary.
final class ZooCacheCLITests: XCTestCase {
    var tiny: String { Fixtures.path("keras/genesis_tiny.h5") }

    func testImportMatchesTheManifestVerifiesAndStores() throws {
        let bytes = try FileIO.read(tiny)
        var box = ZooSandbox()
        try box.writeManifest(name: "tiny-test", file: "genesis_tiny.h5", url: "https://models.invalid/genesis_tiny.h5", bytes: bytes, verifiable: true)
        let r = try box.run(["zoo", "import", tiny, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json)
        XCTAssertEqual(j["sha256"] as? String, Checksum.sha256Hex(bytes))
        XCTAssertEqual((j["zoo_match"] as? [String: Any])?["model"] as? String, "tiny-test")
        XCTAssertEqual((j["zoo_match"] as? [String: Any])?["file"] as? String, "genesis_tiny.h5")
        XCTAssertEqual((j["verification"] as? [String: Any])?["valid"] as? Bool, true)
        XCTAssertEqual((j["verification"] as? [String: Any])?["base_filters"] as? Int, 4)
        XCTAssertEqual(j["stored"] as? Bool, true)
        XCTAssertEqual(try FileIO.read(box.home + "/models/tiny-test/genesis_tiny.h5"), bytes)

        let text = try box.run(["zoo", "import", tiny])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("this is the official genesis_tiny.h5, zoo model tiny-test"), text.stdout)
        XCTAssertTrue(text.stdout.contains("verified: Genesis keras variant, base 4"), text.stdout)

        // inspect and verify name the match too.
        for command in ["inspect", "verify"] {
            let t = try box.run([command, tiny])
            XCTAssertTrue(t.stdout.contains("sha256: \(Checksum.sha256Hex(bytes)) (this is the official genesis_tiny.h5, zoo model tiny-test)"), t.stdout)
            let js = try box.run([command, tiny, "--json"])
            XCTAssertEqual(js.json?["sha256"] as? String, Checksum.sha256Hex(bytes), command)
            XCTAssertEqual((js.json?["zoo_match"] as? [String: Any])?["model"] as? String, "tiny-test", command)
        }
    }

    func testInspectOfAFileNoManifestKnowsSaysSo() throws {
        let box = ZooSandbox()
        let js = try box.run(["inspect", tiny, "--json"])
        XCTAssertEqual(js.status, 0, js.stderr)
        XCTAssertEqual(js.json?["sha256"] as? String, try Checksum.sha256Hex(fileAt: tiny))
        XCTAssertTrue(js.json?.keys.contains("zoo_match") == true && js.json?["zoo_match"] is NSNull)
        let t = try box.run(["verify", tiny])
        XCTAssertTrue(t.stdout.contains("(matches no zoo manifest)"), t.stdout)
    }

    func testImportOfAnUnknownFileNeedsANameAndAGenesisNetwork() throws {
        let box = ZooSandbox()
        let sha = try Checksum.sha256Hex(fileAt: tiny)
        let r = try box.run(["zoo", "import", tiny])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("matches no zoo manifest (sha256 \(sha)); give --name NAME"), r.stderr)
        XCTAssertEqual(box.list("blobs"), [])

        let named = try box.run(["zoo", "import", tiny, "--name", "my-tiny", "--json"])
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertEqual(box.list("blobs"), [sha])
        XCTAssertEqual((named.json?["verification"] as? [String: Any])?["valid"] as? Bool, true)
        let path = try box.run(["zoo", "path", "my-tiny"])
        XCTAssertEqual(path.stdout, box.home + "/models/my-tiny/genesis_tiny.h5\n")
        let list = try box.run(["zoo", "list", "--json"])
        let models = try XCTUnwrap(list.json?["models"] as? [[String: Any]])
        XCTAssertEqual(models.first { $0["name"] as? String == "my-tiny" }?["in_manifest"] as? Bool, false)

        let wild = try box.run(["zoo", "import", Fixtures.path("wild/keras224_carnd_model_adam.h5"), "--name", "wild"])
        XCTAssertEqual(wild.status, 1)
        XCTAssertTrue(wild.stderr.contains("not stored: not a Models Genesis network"), wild.stderr)
        XCTAssertEqual(box.list("blobs"), [sha])
    }

    func testImportOfAFileGenesisCannotVerifyStoresItOnItsHash() throws {
        let bytes = testBytes(5000)
        var box = ZooSandbox()
        try box.writeManifest(name: "opaque", file: "opaque.model", url: "https://models.invalid/opaque.model", bytes: bytes, format: "pt")
        let f = box.root + "/opaque.model"
        try FileIO.write(bytes, to: f)
        let r = try box.run(["zoo", "import", f, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual((r.json?["verification"] as? [String: Any])?["checked"] as? Bool, false)
        XCTAssertEqual(try FileIO.read(box.home + "/models/opaque/opaque.model"), bytes)
    }

    func testFileShippedBesideTheManifestIsCopiedOfflineAndChecked() throws {
        let bytes = testBytes(70_000, seed: 7)
        var box = ZooSandbox()
        try box.writeManifest(name: "shipped", file: "default.h5", url: nil, path: "weights/default.h5", bytes: bytes)
        try FileManager.default.createDirectory(atPath: box.manifests! + "/weights", withIntermediateDirectories: true)
        try FileIO.write(bytes, to: box.manifests! + "/weights/default.h5")
        let r = try box.run(["zoo", "fetch", "shipped", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(((r.json?["files"] as? [[String: Any]])?.first)?["from"] as? String, box.manifests! + "/weights/default.h5")
        XCTAssertEqual(try FileIO.read(box.home + "/models/shipped/default.h5"), bytes)

        // The same entry with a hash the file does not have: refused, nothing left.
        var bad = ZooSandbox()
        try bad.writeManifest(name: "shipped", file: "default.h5", url: nil, path: "weights/default.h5", bytes: bytes,
                              sha256: Checksum.sha256Hex(Array("x".utf8)))
        try FileManager.default.createDirectory(atPath: bad.manifests! + "/weights", withIntermediateDirectories: true)
        try FileIO.write(bytes, to: bad.manifests! + "/weights/default.h5")
        let refused = try bad.run(["zoo", "fetch", "shipped"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("found \(Checksum.sha256Hex(bytes)); nothing was stored"), refused.stderr)
        XCTAssertEqual(bad.list("blobs"), [])
    }

    func testVerifyFindsACorruptBlobAndRemoveFreesIt() throws {
        let box = ZooSandbox()
        let sha = try Checksum.sha256Hex(fileAt: tiny)
        XCTAssertEqual(try box.run(["zoo", "import", tiny, "--name", "t"]).status, 0)
        let clean = try box.run(["zoo", "verify", "--json"])
        XCTAssertEqual(clean.status, 0, clean.stderr)
        XCTAssertEqual(clean.json?["checked"] as? Int, 1)

        var bytes = try FileIO.read(box.home + "/blobs/" + sha)
        bytes[1000] ^= 0xFF
        try FileIO.write(bytes, to: box.home + "/blobs/" + sha)
        let all = try box.run(["zoo", "verify"])
        XCTAssertEqual(all.status, 1)
        XCTAssertTrue(all.stdout.contains("\(sha): CORRUPT: its SHA-256 is \(Checksum.sha256Hex(bytes))"), all.stdout)
        let one = try box.run(["zoo", "verify", "t", "--json"])
        XCTAssertEqual(one.status, 1)
        XCTAssertEqual(one.json?["corrupt"] as? Int, 1)

        let removed = try box.run(["zoo", "remove", "t", "--json"])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertEqual(removed.json?["removed_blobs"] as? [String], [sha])
        XCTAssertEqual(box.list("blobs"), [])
        XCTAssertEqual(try box.run(["zoo", "path", "t"]).status, 2, "an unknown name is bad usage")
    }

    func testUnknownModelAndNotCachedModel() throws {
        let box = ZooSandbox()
        let r = try box.run(["zoo", "show", "no-such-model"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("no zoo model named 'no-such-model' (known: genesis-chest-ct-keras, genesis-chest-ct-torch, genesis-default-b8, genesis-nnunet-luna16"), r.stderr)
        let p = try box.run(["zoo", "path", "genesis-chest-ct-keras"])
        XCTAssertEqual(p.status, 1)
        XCTAssertTrue(p.stderr.contains("'genesis-chest-ct-keras' is not in the cache"), p.stderr)
        let show = try box.run(["zoo", "show", "Genesis_Chest_CT.pt", "--json"])
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertEqual(show.json?["name"] as? String, "genesis-chest-ct-torch")
        XCTAssertEqual((show.json?["licence"] as? [String: Any])?["hosting_page"] as? String, "apache-2.0")
    }

    func testCatalogFallsBackToTheEmbeddedCopyOutsideAClone() throws {
        let c = try ManifestCatalog.standard(environment: [:], executable: "/nonexistent/bin/genesis")
        XCTAssertEqual(c.origin, "embedded")
        XCTAssertEqual(c.names, ["genesis-chest-ct-keras", "genesis-chest-ct-torch", "genesis-default-b8", "genesis-nnunet-luna16"]
                       + ZooManifestTests.siblings.map(\.0))
        let fromClone = try ManifestCatalog.standard(environment: [:], executable: Fixtures.genesisBinary)
        XCTAssertEqual(fromClone.origin, Fixtures.repoRoot + "/zoo")
    }

    /// The default model ships in the repository (zoo/models): `zoo fetch` copies it into the cache
    /// offline, checks its size and SHA-256 against its manifest, and it verifies as a Genesis network.
    func testDefaultModelFetchesOfflineAndVerifies() throws {
        let box = ZooSandbox()
        let fetch = try box.run(["zoo", "fetch", "genesis-default-b8", "--json"])
        XCTAssertEqual(fetch.status, 0, fetch.stderr)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.repoRoot + "/zoo/genesis-default-b8.json"))) as? [String: Any]
        let file = try XCTUnwrap((manifest?["files"] as? [[String: Any]])?.first)
        let path = try box.run(["zoo", "path", "genesis-default-b8"])
        XCTAssertEqual(path.status, 0, path.stderr)
        let cached = path.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try FileIO.size(of: cached), file["size"] as? Int)
        XCTAssertEqual(box.list("blobs"), [try XCTUnwrap(file["sha256"] as? String)])
        let verify = try box.run(["verify", cached, "--json"])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertEqual((verify.json?["zoo_match"] as? [String: Any])?["model"] as? String, "genesis-default-b8", verify.stdout)
    }
}

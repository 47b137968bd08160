import FormatNames
import Foundation
import GenesisIO
import Tensors
import TestSupport
import XCTest
@testable import Zoo

/// The manifests in zoo/, their compiled-in copy, their schema, and the decoder's refusals.
final class ZooManifestTests: XCTestCase {
    var zooDirectory: String { Fixtures.repoRoot + "/zoo" }

    func testEmbeddedManifestsEqualZooDirectory() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: zooDirectory).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(EmbeddedManifests.files.map(\.0), names, "run scripts/embed-zoo-manifests.sh")
        for (name, text) in EmbeddedManifests.files {
            let disk = String(decoding: try FileIO.read(zooDirectory + "/" + name), as: UTF8.self)
            XCTAssertEqual(text, disk, "\(name) differs from zoo/\(name): run scripts/embed-zoo-manifests.sh")
        }
    }

    /// The three official files, with the sizes and hashes of the Hugging Face page
    /// (MrGiovanni/ModelsGenesis) as the issue quotes them.
    func testOfficialFilesAreListedWithTheirHashes() throws {
        let catalog = try ManifestCatalog.load(directory: zooDirectory, origin: "test")
        let expected: [(String, String, Int64, String, Bool)] = [
            ("genesis-chest-ct-keras", "Genesis_Chest_CT.h5", 130_755_568, "2d40370b4e470f852542d5969229ca7a28e4aad73d40af016f7e6b7879d6367c", true),
            ("genesis-chest-ct-torch", "Genesis_Chest_CT.pt", 152_639_120, "62de21a05236d6a8d8d5b03ec740f6ac6b818d15d3e86eed4f38a2a17d63cc08", true),
            ("genesis-nnunet-luna16", "genesis_nnunet_luna16_006.model", 246_317_023, "0fc3bc12910d403afd6876ca35f2bec7446c3e2676c59f67d5e47d3f4da52fc5", true),
        ]
        // The three official models, the project's own default model (shipped in zoo/models), and the siblings.
        XCTAssertEqual(catalog.names, ["genesis-chest-ct-keras", "genesis-chest-ct-torch", "genesis-default-b8", "genesis-nnunet-luna16"] + Self.siblings.map(\.0))
        for (model, file, size, sha, verifiable) in expected {
            let m = try XCTUnwrap(catalog.entry(named: model)).manifest
            XCTAssertEqual(m.files.count, 1)
            XCTAssertEqual(m.files[0].name, file)
            XCTAssertEqual(m.files[0].size, size)
            XCTAssertEqual(m.files[0].sha256, sha)
            XCTAssertEqual(m.files[0].url, "https://huggingface.co/MrGiovanni/ModelsGenesis/resolve/main/" + file)
            XCTAssertEqual(m.architecture.verifiable, verifiable)
            XCTAssertEqual(m.preprocessing["ct"], Preprocessing(clip: [-1000, 1000], unit: "HU", scaleTo: [0, 1]))
            XCTAssertEqual(m.preprocessing["mri"], Preprocessing(clip: [0, 4000], unit: nil, scaleTo: [0, 1]))
            XCTAssertEqual(m.licence.hostingPage, "apache-2.0")
            XCTAssertTrue(m.licence.codeRepository.contains("non-commercial"))
            XCTAssertEqual(m.inputShape, [1, 64, 64, 32])
            XCTAssertEqual(catalog.match(sha256: sha, size: size)?.manifest.name, model)
            XCTAssertEqual(catalog.resolve(file)?.manifest.name, model)
        }
        XCTAssertNil(catalog.match(sha256: expected[0].3, size: 1), "a hash with the wrong size is no match")
        // The nnU-Net file is verified as its own family's network (genesis verify --json says the same).
        let nnunet = try XCTUnwrap(catalog.entry(named: "genesis-nnunet-luna16")).manifest.architecture
        XCTAssertEqual(nnunet, ModelArchitecture(family: NetworkFamilyName.nnunetV1GenericUNet.rawValue, variant: "nnunet", baseFilters: 32, labels: 2,
                                                 verifiable: true, note: nnunet.note))
    }

    /// The sibling networks' files, from the official READMEs: Zenodo records 4625297 (Semantic
    /// Genesis) and 4625321 (TransVW), Hugging Face MrGiovanni/SuPreM. No SHA-256 is published
    /// for any: each says so in its hash_note, and zoo fetch records what it finds.
    static let siblings: [(String, String, String, String, String)] = [
        ("semantic-genesis-chest-ct-keras", "semantic_genesis_chest_ct.h5", "https://zenodo.org/record/4625297/files/semantic_genesis_chest_ct.h5?download=1", "keras-h5", "keras"),
        ("semantic-genesis-chest-ct-torch", "semantic_genesis_chest_ct.pt", "https://zenodo.org/record/4625297/files/semantic_genesis_chest_ct.pt?download=1", "pt", "torch"),
        ("suprem-unet-abdomenatlas", "supervised_suprem_unet_2100.pth", "https://huggingface.co/MrGiovanni/SuPreM/resolve/main/supervised_suprem_unet_2100.pth?download=true", "pt", "torch"),
        ("transvw-chest-ct-keras", "TransVW_chest_ct.h5", "https://zenodo.org/record/4625321/files/TransVW_chest_ct.h5?download=1", "keras-h5", "keras"),
        ("transvw-chest-ct-torch", "TransVW_chest_ct.pt", "https://zenodo.org/record/4625321/files/TransVW_chest_ct.pt?download=1", "pt", "torch"),
    ]

    func testSiblingFilesSayTheirHashIsNotPublished() throws {
        let catalog = try ManifestCatalog.load(directory: zooDirectory, origin: "test")
        for (model, file, url, format, variant) in Self.siblings {
            let m = try XCTUnwrap(catalog.entry(named: model)).manifest
            XCTAssertEqual(m.files.map(\.name), [file])
            XCTAssertEqual(m.files[0].url, url)
            XCTAssertEqual(m.files[0].format, format)
            XCTAssertNil(m.files[0].sha256)
            XCTAssertFalse(try XCTUnwrap(m.files[0].hashNote).isEmpty)
            XCTAssertEqual(m.architecture.family, "models-genesis-unet3d")
            XCTAssertEqual(m.architecture.variant, variant)
            XCTAssertEqual(m.architecture.baseFilters, 32)
            XCTAssertTrue(m.licence.codeRepository.contains("non-commercial"), model)
        }
    }

    func testFormatsAreGenesisFormats() {
        XCTAssertEqual(ManifestDecoder.formats, FormatName.allCases.map(\.rawValue))
        XCTAssertEqual(FormatKind.allCases, FormatName.allCases)
    }

    /// The schema names the same fields the decoder accepts, at every level.
    func testSchemaListsTheDecodersFields() throws {
        let schema = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(FileIO.read(Fixtures.repoRoot + "/schemas/zoo-manifest.schema.json"))) as? [String: Any])
        let props = try XCTUnwrap(schema["properties"] as? [String: Any])
        XCTAssertEqual(Set(props.keys), ["schema_version", "name", "description", "files", "architecture", "input_shape", "input_axes",
                                         "preprocessing", "licence", "citation", "source", "notes"])
        let defs = try XCTUnwrap(schema["$defs"] as? [String: Any])
        let file = try XCTUnwrap((defs["file"] as? [String: Any])?["properties"] as? [String: Any])
        XCTAssertEqual(Set(file.keys), ["name", "url", "path", "size", "sha256", "hash_note", "format"])
        let formats = try XCTUnwrap((file["format"] as? [String: Any])?["enum"] as? [String])
        XCTAssertEqual(formats, ManifestDecoder.formats)
        let arch = try XCTUnwrap((defs["architecture"] as? [String: Any])?["properties"] as? [String: Any])
        XCTAssertEqual(Set(arch.keys), ["family", "variant", "base_filters", "labels", "verifiable", "note"])
        let variants = NetworkFamilyName.allCases.flatMap(\.variants)
        XCTAssertEqual(variants, FrameworkName.allCases.map(\.rawValue) + ["nnunet"])
        XCTAssertEqual((arch["variant"] as? [String: Any])?["enum"] as? [String], variants)
        XCTAssertEqual(ManifestDecoder.variants, variants)
        // A verifiable manifest's family is one genesis knows.
        let then = try XCTUnwrap((defs["architecture"] as? [String: Any])?["then"] as? [String: Any])
        let family = try XCTUnwrap((then["properties"] as? [String: Any])?["family"] as? [String: Any])
        XCTAssertEqual(family["enum"] as? [String], NetworkFamilyName.allCases.map(\.rawValue))
    }

    func manifest(_ change: (inout [String: Any]) -> Void) throws -> [UInt8] {
        let text = try FileIO.read(zooDirectory + "/genesis-chest-ct-keras.json")
        var m = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text)) as? [String: Any])
        change(&m)
        return Array(try JSONSerialization.data(withJSONObject: m))
    }

    func refusal(_ change: (inout [String: Any]) -> Void) throws -> String {
        do {
            _ = try ManifestDecoder.decode(try manifest(change), file: "m.json")
            return "accepted"
        } catch let e as ZooError {
            return e.description
        }
    }

    func setFile(_ m: inout [String: Any], _ key: String, _ value: Any?) {
        var files = m["files"] as! [[String: Any]]
        files[0][key] = value
        m["files"] = files
    }

    func testDecoderRefusesWhatTheSchemaRefuses() throws {
        XCTAssertEqual(try refusal { _ in }, "accepted")
        XCTAssertEqual(try refusal { $0["extra"] = 1 }.prefix(22), "m.json: extra: unknown")
        XCTAssertEqual(try refusal { $0["name"] = "../x" }.prefix(13), "m.json: name:")
        XCTAssertEqual(try refusal { self.setFile(&$0, "sha256", "ABC") }, "m.json: files[0].sha256: expected 64 lowercase hex digits, found 'ABC'")
        XCTAssertEqual(try refusal { self.setFile(&$0, "size", true) }, "m.json: files[0].size: expected an integer, found a boolean")
        XCTAssertEqual(try refusal { self.setFile(&$0, "size", 1.5) }, "m.json: files[0].size: expected an integer, found a number")
        XCTAssertEqual(try refusal { self.setFile(&$0, "size", 0) }.prefix(29), "m.json: files[0].size: 0 is o")
        XCTAssertEqual(try refusal { self.setFile(&$0, "url", nil) }, "m.json: files[0]: needs a url, a path, or both")
        XCTAssertEqual(try refusal { self.setFile(&$0, "url", "ftp://x/y") }.prefix(23), "m.json: files[0].url: '")
        XCTAssertEqual(try refusal { self.setFile(&$0, "path", "../etc/passwd") }.prefix(24), "m.json: files[0].path: '")
        XCTAssertEqual(try refusal { self.setFile(&$0, "path", "/abs") }.prefix(24), "m.json: files[0].path: '")
        XCTAssertEqual(try refusal { self.setFile(&$0, "name", "a/b") }.prefix(24), "m.json: files[0].name: '")
        XCTAssertEqual(try refusal { self.setFile(&$0, "format", "tflite") }.prefix(34), "m.json: files[0].format: 'tflite' ")
        XCTAssertEqual(try refusal { $0["files"] = [] }, "m.json: files: has 0 entries; expected 1...16")
        XCTAssertEqual(try refusal { $0["preprocessing"] = ["ct": ["clip": [1000, -1000], "scale_to": [0, 1]]] },
                       "m.json: preprocessing.ct.clip: expected [low, high] with low < high")
        XCTAssertEqual(try refusal { $0["architecture"] = ["family": "other", "verifiable": true] },
                       "m.json: architecture.verifiable: only the models-genesis-unet3d and nnunet-v1-generic-unet families can be verified by genesis")
        XCTAssertEqual(try refusal { $0["architecture"] = ["family": "nnunet-v1-generic-unet", "variant": "keras", "base_filters": 32, "verifiable": true] },
                       "m.json: architecture.variant: 'keras' is not a variant of nnunet-v1-generic-unet (nnunet)")
        XCTAssertEqual(try refusal { $0["architecture"] = ["family": "models-genesis-unet3d", "variant": "nnunet", "base_filters": 32, "verifiable": true] },
                       "m.json: architecture.variant: 'nnunet' is not a variant of models-genesis-unet3d (keras, torch)")
        XCTAssertEqual(try refusal { $0["licence"] = ["hosting_page": "x", "note": "y"] }, "m.json: licence.code_repository: missing")
        // No published hash: null with a note saying what the host publishes; only for a file fetched by url.
        XCTAssertEqual(try refusal { self.setFile(&$0, "sha256", NSNull()) },
                       "m.json: files[0].hash_note: missing: a file without a published sha256 or size needs a note saying what its host publishes")
        XCTAssertEqual(try refusal { self.setFile(&$0, "sha256", NSNull()); self.setFile(&$0, "size", NSNull()); self.setFile(&$0, "hash_note", "Zenodo lists an MD5") }, "accepted")
        XCTAssertEqual(try refusal { self.setFile(&$0, "size", NSNull()); self.setFile(&$0, "hash_note", "x") },
                       "m.json: files[0].size: null with a published sha256: give the size the hash is of")
        XCTAssertEqual(try refusal { self.setFile(&$0, "sha256", NSNull()); self.setFile(&$0, "hash_note", "x"); self.setFile(&$0, "url", nil); self.setFile(&$0, "path", "w.h5") },
                       "m.json: files[0].sha256: null is only for a file fetched by url; a shipped file's hash is known")
        XCTAssertEqual(try refusal { self.setFile(&$0, "sha256", NSNull()); self.setFile(&$0, "hash_note", 3) },
                       "m.json: files[0].hash_note: expected a string, found a number")
        // A path entry alone (a file shipped in the repository) is accepted.
        XCTAssertEqual(try refusal { self.setFile(&$0, "url", nil); self.setFile(&$0, "path", "weights/default.h5") }, "accepted")
    }

    func testDecoderCapsTheFileBeforeParsing() {
        let big = [UInt8](repeating: 0x20, count: ManifestDecoder.maxManifestBytes + 1)
        XCTAssertThrowsError(try ManifestDecoder.decode(big, file: "big.json")) { e in
            XCTAssertEqual("\(e)", "big.json: (file): \(big.count) bytes is more than the cap of \(ManifestDecoder.maxManifestBytes)")
        }
        XCTAssertThrowsError(try ManifestDecoder.decode(Array("{\"name\":".utf8), file: "cut.json")) { e in
            XCTAssertEqual("\(e)", "cut.json: (file): not valid JSON")
        }
    }

    func testManifestNamedOtherThanItsFileIsRefused() throws {
        let dir = Fixtures.scratchDirectory()
        try FileIO.write(try FileIO.read(zooDirectory + "/genesis-chest-ct-keras.json"), to: dir + "/other.json")
        XCTAssertThrowsError(try ManifestCatalog.load(directory: dir, origin: "t")) { e in
            XCTAssertTrue("\(e)".contains("must be the file's name (genesis-chest-ct-keras.json)"), "\(e)")
        }
    }

    func testMirrorKeepsThePathUnderTheMirrorsPrefix() throws {
        let u = try XCTUnwrap(ZooURL.parse("https://huggingface.co/MrGiovanni/ModelsGenesis/resolve/main/Genesis_Chest_CT.h5?download=true"))
        XCTAssertEqual(u.host, "huggingface.co")
        XCTAssertEqual(u.onMirror(try XCTUnwrap(ZooURL.parse("http://127.0.0.1:8000/hf/"))).string,
                       "http://127.0.0.1:8000/hf/MrGiovanni/ModelsGenesis/resolve/main/Genesis_Chest_CT.h5?download=true")
        XCTAssertEqual(ZooURL.parse("http://[::1]:80/x")?.host, "::1")
        XCTAssertNil(ZooURL.parse("http://user@host/x"))
        XCTAssertNil(ZooURL.parse("file:///etc/passwd"))
    }

    func testContentRangeParsing() {
        XCTAssertTrue(Transfer.parseContentRange("bytes 100-999/1000")! == (100, 1000))
        XCTAssertTrue(Transfer.parseContentRange("bytes 5-9/*")! == (5, nil))
        XCTAssertNil(Transfer.parseContentRange("items 1-2/3"))
    }
}

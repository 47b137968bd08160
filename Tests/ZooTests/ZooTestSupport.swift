import Foundation
import Tensors
import TestSupport
import XCTest

/// Running `genesis zoo ...` with its own cache (and, when given, its own manifest directory).
struct ZooSandbox {
    let root: String
    var home: String { root + "/home" }
    var manifests: String? = nil

    init(_ name: String = #function) {
        root = Fixtures.scratchDirectory(name)
    }

    func run(_ args: [String], extraEnvironment: [String: String] = [:]) throws -> ProcessResult {
        var env = ["GENESIS_HOME": home, "GENESIS_PROGRESS_INTERVAL": "0", "GENESIS_ZOO_MIRROR": ""]
        if let manifests { env["GENESIS_ZOO"] = manifests }
        env.merge(extraEnvironment) { $1 }
        return try runProcess(Fixtures.genesisBinary, args, environment: env)
    }

    func process(_ args: [String]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Fixtures.genesisBinary)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["GENESIS_HOME"] = home
        env["GENESIS_ZOO_MIRROR"] = ""
        if let manifests { env["GENESIS_ZOO"] = manifests }
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        return p
    }

    /// What the cache directories hold (names only).
    func list(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: home + "/" + sub)) ?? []).sorted()
    }

    /// Writes a manifest for one file into `dir` (made a manifest directory).
    mutating func writeManifest(name: String, file: String, url: String?, path: String? = nil, bytes: [UInt8],
                                sha256: String? = nil, format: String = "keras-h5", verifiable: Bool = false,
                                hashPublished: Bool = true) throws {
        let dir = root + "/manifests"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        manifests = dir
        var f: [String: Any] = ["name": file, "size": bytes.count, "sha256": sha256 ?? Checksum.sha256Hex(bytes), "format": format]
        if !hashPublished {
            f["sha256"] = NSNull()
            f["size"] = NSNull()
            f["hash_note"] = "the test host publishes neither hash nor size"
        }
        if let url { f["url"] = url }
        if let path { f["path"] = path }
        var arch: [String: Any] = ["family": verifiable ? "models-genesis-unet3d" : "test-bytes", "verifiable": verifiable]
        if verifiable { arch["variant"] = "keras"; arch["base_filters"] = 4; arch["labels"] = 1 }
        let m: [String: Any] = [
            "schema_version": 1, "name": name, "description": "a test model", "files": [f], "architecture": arch,
            "input_shape": [1, 64, 64, 32], "preprocessing": ["ct": ["clip": [-1000, 1000], "unit": "HU", "scale_to": [0, 1]]],
            "licence": ["hosting_page": "test", "code_repository": "test", "note": "test"], "citation": ["text": "none"],
            "source": ["hosting": "http://127.0.0.1/"],
        ]
        let data = try JSONSerialization.data(withJSONObject: m, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: dir + "/\(name).json"))
    }
}

/// Deterministic bytes that do not compress into a pattern a cut could hide (a 64-bit LCG).
func testBytes(_ n: Int, seed: UInt64 = 1) -> [UInt8] {
    var s = seed
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: s >> 33)
    }
}

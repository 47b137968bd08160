import Foundation
import XCTest

/// Paths to the shared fixtures (`../shared/fixtures` from the repository root) and to scratch
/// space. A test that cannot find a fixture fails; it never skips.
public enum Fixtures {
    /// The repository root, found from this source file's location.
    public static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/TestSupport/Fixtures.swift
        return url.path
    }()

    public static let root: String = {
        if let env = ProcessInfo.processInfo.environment["GENESIS_FIXTURES"] { return env }
        return URL(fileURLWithPath: repoRoot).deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
    }()

    /// Absolute path of a fixture, failing the calling test when it is missing.
    public static func path(_ relative: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let p = root + "/" + relative
        if !FileManager.default.fileExists(atPath: p) {
            XCTFail("fixture missing: \(p) (the shared fixtures must sit at ../shared/fixtures)", file: file, line: line)
        }
        return p
    }

    /// Absolute path of a reference made in this repository (`Tests/References/<relative>`,
    /// Tests/References/README.md), failing the calling test when it is missing.
    public static func reference(_ relative: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let p = repoRoot + "/Tests/References/" + relative
        if !FileManager.default.fileExists(atPath: p) {
            XCTFail("reference missing: \(p) (Tests/References/README.md names the script that writes it)", file: file, line: line)
        }
        return p
    }

    /// A fresh scratch directory for one test.
    public static func scratchDirectory(_ name: String = #function) -> String {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let dir = NSTemporaryDirectory() + "genesis-tests/\(safe)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The built `genesis` executable beside the test bundle.
    public static var genesisBinary: String {
        let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        return bundle.deletingLastPathComponent().appendingPathComponent("genesis").path
    }
}

/// Runs a process, capturing its exit code, stdout and stderr.
public struct ProcessResult {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]
    }
}

/// `environment` entries are added to (or replace) the test's own environment.
public func runProcess(_ executable: String, _ arguments: [String], cwd: String? = nil, environment: [String: String] = [:]) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read both pipes fully before waiting, so a large output cannot block the child.
    var outData = Data(), errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return ProcessResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
}

import Foundation
import GenesisIO
import HDF5
import TestSupport
import XCTest

/// `genesis --version`: the version from the VERSION file (the one place it is set), the commit,
/// and the libraries' versions as the process runs them.
final class VersionCLITests: XCTestCase {
    func repositoryVersion() throws -> String {
        try String(contentsOfFile: Fixtures.repoRoot + "/VERSION", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testVersionFileIsTheOneVersion() throws {
        let version = try repositoryVersion()
        XCTAssertNotNil(version.range(of: #"^[0-9]+\.[0-9]+\.[0-9]+$"#, options: .regularExpression), "VERSION holds '\(version)'")
        XCTAssertEqual(GenesisWriter.version, version, "GenesisWriter.version (Sources/GenesisIO/FormatBridge.swift) must equal VERSION")
        XCTAssertEqual(GenesisWriter.name, "genesis \(version)")
        // The Makefile and scripts read VERSION; none writes another version of its own.
        let dist = try String(contentsOfFile: Fixtures.repoRoot + "/scripts/dist.sh", encoding: .utf8)
        XCTAssertTrue(dist.contains("<VERSION"), "scripts/dist.sh reads VERSION")
        let python = try String(contentsOfFile: Fixtures.repoRoot + "/python/genesis_weights/__init__.py", encoding: .utf8)
        XCTAssertTrue(python.contains("__version__ = \"@VERSION@\""), "the Python package's version is filled in from VERSION by make_wheel.py")
    }

    func testVersionNamesTheCommitAndTheLibraries() throws {
        let r = try runProcess(Fixtures.genesisBinary, ["--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "genesis \(try repositoryVersion())")
        // A test build lives in the clone: its commit is read from git (a release's is built in).
        let commit = try XCTUnwrap(lines.first { $0.hasPrefix("commit: ") })
        XCTAssertNotNil(commit.range(of: #"^commit: [0-9a-f]{12}(-dirty)? \(read from the clone's git\)$"#, options: .regularExpression), commit)
        XCTAssertTrue(lines.contains("libhdf5: \(hdf5LibraryVersion)"), r.stdout)
        let blas = try XCTUnwrap(lines.first { $0.hasPrefix("OpenBLAS: OpenBLAS ") })
        XCTAssertNotNil(blas.range(of: #"\(core [A-Za-z0-9_]+\)$"#, options: .regularExpression), blas)
        XCTAssertTrue(lines.contains { $0.hasPrefix("libnifti2: NIFTI2_IO version 2.") }, r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("libpng: 1.") }, r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("zlib: 1.") }, r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("Open MPI: not linked") }, r.stdout)
        XCTAssertEqual(r.stderr, "")
    }

    /// The core type follows OPENBLAS_CORETYPE, so --version says which kernels a run uses.
    func testTheOpenBLASCoreFollowsTheEnvironment() throws {
        let r = try runProcess(Fixtures.genesisBinary, ["--version"], environment: ["OPENBLAS_CORETYPE": "Sandybridge"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(core Sandybridge)"), r.stdout)
    }
}

import Foundation
import TestSupport
import XCTest

/// The repository's documents follow the project's rules: the specs the code cites are in
/// `schemas/`, not outside the repository; BENCHMARKS.md and RELIABILITY.md are current tables of
/// at most 250 lines; no document names a path of the machine it was written on.
final class DocumentRulesTests: XCTestCase {
    private let root = Fixtures.repoRoot

    private func files(under dir: String, endingWith suffix: String) -> [String] {
        let e = FileManager.default.enumerator(atPath: root + "/" + dir)
        var out: [String] = []
        while let p = e?.nextObject() as? String { if p.hasSuffix(suffix) { out.append(dir + "/" + p) } }
        return out
    }

    private func text(_ relative: String) throws -> String { try String(contentsOfFile: root + "/" + relative, encoding: .utf8) }

    func testSourcesCiteOnlyTheRepositorysSpecs() throws {
        let sources = files(under: "Sources", endingWith: ".swift") + files(under: "Sources", endingWith: ".c") + files(under: "Sources", endingWith: ".h")
        XCTAssertGreaterThan(sources.count, 100)
        for f in sources {
            let t = try text(f)
            for word in ["DESIGN.md", "FORMATS.md", "../shared"] { XCTAssertFalse(t.contains(word), "\(f) cites \(word)") }
        }
        for cited in ["schemas/genesis-architecture.md", "schemas/numerics.md", "schemas/formats.md", "schemas/native-checkpoint.md",
                       "schemas/nnunet-genesis.md"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/" + cited), cited)
        }
    }

    func testReportsAreShortAndHoldNoMachinePaths() throws {
        for doc in ["BENCHMARKS.md", "RELIABILITY.md"] {
            XCTAssertLessThanOrEqual(try text(doc).split(separator: "\n", omittingEmptySubsequences: false).count, 251, doc)
        }
        for doc in ["README.md", "BENCHMARKS.md", "RELIABILITY.md"] + files(under: "schemas", endingWith: ".md") {
            let t = try text(doc)
            for path in ["/opt/", "/work/", "/home/", "/root/", "DESIGN.md", "FORMATS.md"] { XCTAssertFalse(t.contains(path), "\(doc) names \(path)") }
        }
    }
}

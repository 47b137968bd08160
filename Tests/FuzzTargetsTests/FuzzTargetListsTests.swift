import Foundation
import FuzzTargets
import TestSupport
import XCTest

/// The fuzz targets are `FuzzTarget.allCases`; the scripts that run them and RELIABILITY.md's
/// table name the same targets in the same order.
final class FuzzTargetListsTests: XCTestCase {
    private let names = FuzzTarget.allCases.map(\.rawValue)

    private func text(_ relative: String) throws -> String {
        try String(contentsOfFile: Fixtures.repoRoot + "/" + relative, encoding: .utf8)
    }

    func testFuzzRunDefaultsToEveryTarget() throws {
        let line = try XCTUnwrap(try text("scripts/fuzz_run.sh").split(separator: "\n").first { $0.hasPrefix("ALL=(") })
        XCTAssertEqual(line.dropFirst(5).dropLast().split(separator: " ").map(String.init), names)
    }

    func testFuzzCorpusMakesADirectoryPerTarget() throws {
        let line = try XCTUnwrap(try text("scripts/fuzz_corpus.sh").split(separator: "\n").first { $0.hasPrefix("mkdir -p \"$OUT\"/{") })
        let inner = try XCTUnwrap(line.split(separator: "{").last?.split(separator: "}").first)
        XCTAssertEqual(inner.split(separator: ",").map(String.init), names)
    }

    /// RELIABILITY.md "Fuzzing": the table of targets and the table of executions.
    func testReliabilityTablesNameEveryTarget() throws {
        let doc = try text("RELIABILITY.md")
        let section = try XCTUnwrap(doc.components(separatedBy: "\n## Fuzzing\n").dropFirst().first?.components(separatedBy: "\n## ").first)
        let rows = section.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| ---") }
        let described = rows.compactMap { r -> String? in
            let cell = r.dropFirst(2).prefix { $0 != "|" }.trimmingCharacters(in: .whitespaces)
            let inner = cell.dropFirst().dropLast()
            return cell.hasPrefix("`") && cell.hasSuffix("`") && !inner.contains("`") && !inner.contains(" ") ? String(inner) : nil
        }
        XCTAssertEqual(described, names, "the targets table")
        let executed = rows.map { $0.dropFirst(2).prefix { $0 != "|" }.trimmingCharacters(in: .whitespaces) }.filter { names.contains($0) }
        XCTAssertEqual(executed, names, "the executions table")
    }
}

import Foundation
import TestSupport
import XCTest

/// The README shows every subcommand the binary has (`genesis --help` is the list).
final class ReadmeCommandsCLITests: XCTestCase {
    func testReadmeShowsEverySubcommand() throws {
        let help = try runProcess(Fixtures.genesisBinary, ["--help"]).stdout
        let section = try XCTUnwrap(help.components(separatedBy: "SUBCOMMANDS:").last)
        let commands = section.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            guard let name = line.split(separator: " ").first, name.allSatisfy({ $0.isLowercase || $0 == "-" }) else { return nil }
            return String(name)
        }
        XCTAssertGreaterThanOrEqual(commands.count, 10, help)
        let readme = try String(contentsOfFile: Fixtures.repoRoot + "/README.md", encoding: .utf8)
        for c in commands { XCTAssertTrue(readme.contains("genesis \(c) "), "README shows no `genesis \(c)`") }
    }
}

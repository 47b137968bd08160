import Foundation
import FormatNames
import GenesisIO
import GenesisModel
import Runtime3D
import Tensors
import TestSupport
import XCTest

/// Every hand-kept list of format or framework names against the one table (`FormatNames`):
/// the bridges, the README's format table, the native checkpoint's spec and schema, the
/// loader's error. (The zoo's decoder and schema: ZooManifestTests; training: TrainingCheckpointTests.)
final class FormatNameListsTests: XCTestCase {
    private func text(_ relative: String) throws -> String {
        String(decoding: try FileIO.read(Fixtures.repoRoot + "/" + relative), as: UTF8.self)
    }

    private func backticked(_ s: Substring) -> [String] {
        s.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    func testBridgesUseTheTablesExtensions() {
        for b in FormatRegistry.all { XCTAssertEqual(b.extensions, b.kind.extensions, b.kind.rawValue) }
        XCTAssertEqual(FormatRegistry.all.map(\.kind).sorted { $0.rawValue < $1.rawValue }, FormatName.allCases.sorted { $0.rawValue < $1.rawValue })
    }

    /// README "## Formats": one row per format, in table order, with its `--format` name and extensions.
    func testReadmeFormatTableIsTheTable() throws {
        let readme = try text("README.md")
        let section = try XCTUnwrap(readme.components(separatedBy: "\n## Formats\n").dropFirst().first?.components(separatedBy: "\n## ").first)
        let rows = section.split(separator: "\n").filter { $0.hasPrefix("| `") && !$0.hasPrefix("| `--format`") }
        XCTAssertEqual(rows.count, FormatName.allCases.count, "README format rows")
        for (row, name) in zip(rows, FormatName.allCases) {
            let cells = row.components(separatedBy: " | ")
            XCTAssertEqual(backticked(Substring(cells[0])), [name.rawValue], String(row))
            XCTAssertEqual(backticked(Substring(cells[2])), name.extensions, String(row))
        }
    }

    /// schemas/native-checkpoint.md names the `source_format` values and the frameworks as the table does.
    func testNativeCheckpointSpecNamesTheTablesFormats() throws {
        let spec = try text("schemas/native-checkpoint.md")
        let row = try XCTUnwrap(spec.split(separator: "\n").first { $0.hasPrefix("| `source_format` |") })
        XCTAssertEqual(backticked(row).dropFirst().filter { !$0.contains(" ") && $0 != "--format" && $0 != "FormatNames" },
                       FormatName.allCases.map(\.rawValue))
        let variant = try XCTUnwrap(spec.split(separator: "\n").first { $0.hasPrefix("| `variant` |") })
        // The frameworks, then `nnunet` (nnU-Net Genesis under its v1 names, PyTorch conventions).
        XCTAssertTrue(variant.contains(FrameworkName.allCases.map { "`\"\($0.rawValue)\"`" }.joined(separator: ", ") + " or `\"nnunet\"`"), String(variant))
    }

    /// schemas/native-checkpoint.schema.json: every keras/torch enum is the frameworks, in order.
    func testNativeCheckpointSchemaEnumsAreTheFrameworks() throws {
        let json = try text("schemas/native-checkpoint.schema.json")
        var enums: [[String]] = []
        func walk(_ v: Any) {
            if let d = v as? [String: Any] {
                if let e = d["enum"] as? [String], e.contains("keras") || e.contains("torch") { enums.append(e) }
                d.values.forEach(walk)
            } else if let a = v as? [Any] { a.forEach(walk) }
        }
        walk(try JSONSerialization.jsonObject(with: Data(json.utf8)))
        XCTAssertFalse(enums.isEmpty)
        // architecture.variant also takes `nnunet`; every other keras/torch enum is the frameworks.
        let frameworks = FrameworkName.allCases.map(\.rawValue)
        XCTAssertEqual(enums.filter { $0.contains("nnunet") }, [frameworks + ["nnunet"]])
        for e in enums where !e.contains("nnunet") { XCTAssertEqual(e, frameworks) }
    }

    /// The frameworks' other spellings: the network variant, optimizer and BatchNorm conventions.
    func testEveryKerasTorchEnumIsTheFrameworks() {
        let names = FrameworkName.allCases.map(\.rawValue)
        XCTAssertEqual(Variant.allCases.map(\.rawValue), names)
        XCTAssertEqual(MovingStatisticsConvention.allCases.map(\.rawValue), names)
        XCTAssertEqual(Set([OptimizerState.Convention.keras, .torch].map(\.rawValue)), Set(names))
        for f in FormatName.allCases { if let fw = f.framework { XCTAssertNotNil(Variant(rawValue: fw.rawValue), f.rawValue) } }
    }

    /// The loader's error for an unrecognised file names every container it reads.
    func testUnknownFormatErrorNamesEveryContainer() throws {
        let path = NSTemporaryDirectory() + "/format-names-\(getpid()).bin"
        try FileIO.write(Array("not a model file at all".utf8), to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try ModelLoader.resolveFormat(path)) { e in
            let message = "\(e)"
            XCTAssertTrue(message.contains("(HDF5, zip, PyTorch pickle, safetensors, ONNX, MONAI bundle directory)"), message)
            XCTAssertEqual(FormatKind.Container.allCases.filter { $0 != .unknown }.count, 6, "a new container: name it in supportedList")
        }
    }
}

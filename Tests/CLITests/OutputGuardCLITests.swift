import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

/// Every writer refuses to write over one of its inputs (by name, through a symlink, through a
/// hard link), checks the output's name and kind, and leaves no temporary after SIGINT/SIGTERM.
final class OutputGuardCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    struct Files {
        let dir: String, model: String, cubes: String, masks: String, scan: String
    }

    /// A tiny model recording 16x16x8 cubes, 6 such cubes, their 0/1 masks and a 16x16x8 scan.
    func files(_ name: String = #function) throws -> Files {
        let dir = Fixtures.scratchDirectory(name)
        let f = Files(dir: dir, model: dir + "/model.h5", cubes: dir + "/x.npy", masks: dir + "/m.npy", scan: dir + "/scan.nii.gz")
        XCTAssertEqual(try genesis(["init", "--base-filters", "2", "--input-shape", "1,16,16,8", "--out", f.model]).status, 0)
        XCTAssertEqual(try genesis(["cubes", "--count", "6", "--shape", "16,16,8", "--out", f.cubes]).status, 0)
        try NPY.write(Tensor(shape: [6, 16, 16, 8], floats: (0..<(6 * 2048)).map { Float($0 % 2) }), to: f.masks)
        let v = Volume(shape: [16, 16, 8], voxels: (0..<2048).map { Float($0 % 2000 - 1000) },
                       geometry: .fromLPS(spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]), format: "nifti1", storedType: "float32")
        try VolumeFile.writeNIfTI(v, to: f.scan)
        return f
    }

    /// The one stderr line of a refusal (exit 2).
    func refusal(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try genesis(args)
        XCTAssertEqual(r.status, 2, "\(args): \(r.stdout)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr, file: file, line: line)
        return String(lines.first ?? "")
    }

    /// Each writer, given OUT = an input by name, by a symlink and by a hard link: exit 2, one
    /// line naming the input, the input's bytes unchanged.
    func testEveryWriterRefusesToWriteOverAnInput() throws {
        let f = try files()
        // (command with OUT marked "@", the input OUT stands for, OUT's extension)
        let writers: [([String], String, String)] = [
            (["run", f.model, "--input", f.cubes, "--output", "@"], f.cubes, ".npy"),
            (["run", f.model, "--input", f.scan, "--output", "@", "--window", "none"], f.scan, ".nii.gz"),
            (["cubes", f.scan, "--out", "@", "--size", "8,8,8", "--border", "0,0"], f.scan, ".npy"),
            (["cubes", f.scan, "--labels", f.scan, "--labels-out", "@", "--out", f.dir + "/cx.npy", "--size", "8,8,8", "--border", "0,0"], f.scan, ".npy"),
            (["convert", f.model, "@"], f.model, ".h5"),
            (["finetune", "--init", f.model, "--task", "segmentation", "--images", f.cubes, "--labels", f.masks, "--steps", "1", "--out", "@"], f.masks, ".h5"),
            (["pretrain", "--init", f.model, "--data", f.cubes, "--steps", "1", "--out", "@"], f.model, ".h5"),
            (["preview", "--data", f.cubes, "--out", "@"], f.cubes, ".png"),
        ]
        for (n, (args, input, ext)) in writers.enumerated() {
            let before = try Checksum.sha256Hex(fileAt: input)
            let symlinked = f.dir + "/link\(n)\(ext)", hard = f.dir + "/hard\(n)\(ext)"
            XCTAssertEqual(symlink(input, symlinked), 0)
            XCTAssertEqual(link(input, hard), 0)
            // The name itself only where the extension fits (a model written over itself).
            let outs = (input.hasSuffix(ext) ? [input] : []) + [symlinked, hard]
            for out in outs {
                let message = try refusal(args.map { $0 == "@" ? out : $0 })
                XCTAssertTrue(message.hasPrefix("genesis: error: \(out): ") && message.contains("input") && message.contains(input), "\(args[0]) -> \(out): \(message)")
                XCTAssertEqual(try Checksum.sha256Hex(fileAt: input), before, "\(args[0]) changed its input")
            }
        }
    }

    func testWrongExtensionsAreRefusedWithTheFix() throws {
        let f = try files()
        XCTAssertEqual(try refusal(["run", f.model, "--input", f.cubes, "--output", f.dir + "/pred.nii.gz"]),
                       "genesis: error: \(f.dir)/pred.nii.gz: cubes (.npy input) give a NumPy array (N, labels, D, H, W), not a NIfTI scan: name the output \(f.dir)/pred.npy, or run a whole scan (.nii, .nii.gz, .mhd, .mha) to get a NIfTI")
        XCTAssertEqual(try refusal(["run", f.model, "--input", f.cubes, "--output", f.dir + "/o.txt"]),
                       "genesis: error: \(f.dir)/o.txt: this writes a NumPy array (.npy), so the name must end .npy: e.g. \(f.dir)/o.npy")
        XCTAssertEqual(try refusal(["run", f.model, "--input", f.scan, "--output", f.dir + "/o.npy"]),
                       "genesis: error: \(f.dir)/o.npy: this writes a NIfTI scan (.nii, .nii.gz), so the name must end .nii.gz or .nii: e.g. \(f.dir)/o.nii.gz")
        XCTAssertEqual(try refusal(["cubes", "--out", f.dir + "/mine.h5"]),
                       "genesis: error: \(f.dir)/mine.h5: this writes a NumPy array (.npy), so the name must end .npy: e.g. \(f.dir)/mine.npy")
        XCTAssertEqual(try refusal(["init", "--format", "pt", "--out", f.dir + "/t.h5"]),
                       "genesis: error: \(f.dir)/t.h5: the name asks for keras-h5 but pt is written: name it \(f.dir)/t.pt, or drop --format")
        for name in ["pred.nii.gz", "o.txt", "o.npy", "mine.h5", "t.h5"] { XCTAssertFalse(FileIO.exists(f.dir + "/" + name), name) }
    }

    /// A file that is not of the kind written is replaced only with --force; one of that kind is.
    func testAFileOfAnotherKindNeedsForce() throws {
        let f = try files()
        let mine = f.dir + "/mine.npy"
        try FileManager.default.copyItem(atPath: f.model, toPath: mine)
        XCTAssertEqual(try refusal(["cubes", "--out", mine]),
                       "genesis: error: \(mine): exists and is an HDF5 file (a Keras model, .h5), not a NumPy array (.npy); --force replaces it")
        XCTAssertEqual(Tensors.FileKind.describe(path: mine), "an HDF5 file (a Keras model, .h5)")
        XCTAssertEqual(try genesis(["cubes", "--out", mine, "--force"]).status, 0)
        XCTAssertEqual(try NPY.read(mine).shape, [1, 1, 64, 64, 32])
        XCTAssertEqual(try genesis(["cubes", "--count", "2", "--out", mine]).status, 0)   // an .npy over an .npy: no --force
        XCTAssertEqual(try NPY.read(mine).shape, [2, 1, 64, 64, 32])
        try Data("notes\n".utf8).write(to: URL(fileURLWithPath: f.dir + "/p.nii.gz"))
        XCTAssertEqual(try refusal(["run", f.model, "--input", f.scan, "--output", f.dir + "/p.nii.gz"]),
                       "genesis: error: \(f.dir)/p.nii.gz: exists and is a text file, not a NIfTI scan (.nii, .nii.gz); --force replaces it")
        try Data("notes\n".utf8).write(to: URL(fileURLWithPath: f.dir + "/p.png"))
        XCTAssertEqual(try refusal(["preview", "--data", f.cubes, "--out", f.dir + "/p.png"]),
                       "genesis: error: \(f.dir)/p.png: exists and is a text file, not a PNG image (.png); --force replaces it")
    }

    func testMissingFoldersAreNamed() throws {
        let f = try files()
        for (args, out) in [(["init", "--out", "nodir/t.h5"], "nodir/t.h5"),
                            (["run", f.model, "--input", f.cubes, "--output", "nodir/o.npy"], "nodir/o.npy"),
                            (["cubes", "--out", "nodir/x.npy"], "nodir/x.npy"),
                            (["convert", f.model, "nodir/m.pt"], "nodir/m.pt"),
                            (["preview", "--data", f.cubes, "--out", "nodir/p.png"], "nodir/p.png")] {
            XCTAssertEqual(try refusal(args), "genesis: error: \(out): nodir/ does not exist", "\(args)")
        }
    }

    func testWrongInputKindsSayWhatTheFileIs() throws {
        let f = try files()
        XCTAssertEqual(try refusal(["run", f.model, "--input", f.model, "--output", f.dir + "/o.npy"]),
                       "genesis: error: \(f.model): is an HDF5 file (a Keras model, .h5), not cubes (.npy) or a scan (.nii, .nii.gz, .mhd, .mha)")
        // The readers behind finetune, pretrain, preview and cubes say it too.
        XCTAssertEqual(try refusal(["finetune", "--init", f.model, "--task", "segmentation", "--images", f.model, "--labels", f.masks, "--out", f.dir + "/s.h5"]),
                       "genesis: error: \(f.model): magic: expected a NumPy array (.npy, starting \\x93NUMPY), found an HDF5 file (a Keras model, .h5)")
        XCTAssertEqual(try refusal(["cubes", f.model, "--out", f.dir + "/c.npy"]),
                       "genesis: error: \(f.model): name: expected a .nii, .nii.gz, .mhd or .mha file, found an HDF5 file (a Keras model, .h5)")
        try Data("a,b\n1,2\n".utf8).write(to: URL(fileURLWithPath: f.dir + "/table.csv"))
        XCTAssertEqual(try refusal(["run", f.model, "--input", f.dir + "/table.csv", "--output", f.dir + "/o.npy"]),
                       "genesis: error: \(f.dir)/table.csv: is a text file, not cubes (.npy) or a scan (.nii, .nii.gz, .mhd, .mha)")
    }

    /// Negative values parse (not taken for flags) and are refused by value; the first line of
    /// a usage error says it all.
    func testNegativeValuesAreRefusedByValue() throws {
        let f = try files()
        let cases: [([String], String)] = [
            (["cubes", "--count", "-3", "--out", f.dir + "/x3.npy"], "--count must be positive, not -3"),
            (["diff", f.model, f.model, "--tolerance", "-1"], "--tolerance must be a finite number >= 0 (0 asks for bit-identical values), not -1.0"),
            (["init", "--base-filters", "-4", "--out", f.dir + "/b.h5"], "--base-filters must be positive, not -4"),
            (["run", f.model, "--input", f.cubes, "--output", f.dir + "/o.npy", "--threads", "-2"], "--threads must be positive, at most 256, not -2"),
            (["preview", "--data", f.cubes, "--count", "-1", "--out", f.dir + "/p.png"], "--count must be positive, not -1"),
            (["finetune", "--init", f.model, "--task", "segmentation", "--images", f.cubes, "--labels", f.masks, "--batch", "-6", "--out", f.dir + "/s.h5"],
             "--batch must be positive, not -6"),
        ]
        for (args, message) in cases {
            let r = try genesis(args)
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertEqual(r.stderr.components(separatedBy: "\n").first, "genesis: error: \(message)", r.stderr)
        }
    }

    /// A usage error's first line names the problem and what the option is for.
    func testUsageErrorsFirstLineSaysItAll() throws {
        let r = try genesis(["cubes"])
        XCTAssertEqual(r.status, 2)
        let lines = r.stderr.components(separatedBy: "\n")
        XCTAssertEqual(lines.first, "genesis: error: Missing expected argument '--out <out>' (--out <out>: Output .npy file.)")
        XCTAssertTrue(lines.dropFirst().first?.hasPrefix("Usage: genesis cubes") == true, r.stderr)
        XCTAssertFalse(r.stderr.contains("Help:"), r.stderr)
        XCTAssertEqual(try genesis(["run"]).stderr.components(separatedBy: "\n").first, "genesis: error: Missing expected argument '<model>' (<model>: The model file.)")
    }

    /// SIGINT and SIGTERM during `run` (cubes and a scan): the process dies of the signal and
    /// leaves neither the output nor a hidden temporary beside it.
    func testSignalsRemoveTemporaries() throws {
        let f = try files()
        let big = f.dir + "/big.npy", bigScan = f.dir + "/big.nii.gz"
        XCTAssertEqual(try genesis(["cubes", "--count", "8", "--shape", "64,64,32", "--out", big]).status, 0)
        let v = Volume(shape: [96, 96, 48], voxels: (0..<(96 * 96 * 48)).map { Float($0 % 2000 - 1000) },
                       geometry: .fromLPS(spacing: [1, 1, 1], origin: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]), format: "nifti1", storedType: "float32")
        try VolumeFile.writeNIfTI(v, to: bigScan)
        let model = f.dir + "/b8.h5"
        XCTAssertEqual(try genesis(["init", "--base-filters", "8", "--out", model]).status, 0)
        for (input, output) in [(big, "sig.npy"), (bigScan, "sig.nii.gz")] {
            for sig in [SIGINT, SIGTERM] {
                let outDir = f.dir + "/out\(sig)-\(output.hasSuffix(".npy") ? "npy" : "nii")"
                try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: false)
                var sawTemporary = false
                let run = try ChildProcess.run(Fixtures.genesisBinary, ["run", model, "--input", input, "--output", outDir + "/" + output, "--cubes-per-slice", "1"],
                                               timeout: 600, scratch: f.dir) { pid in
                    let deadline = Date().addingTimeInterval(300)
                    while Date() < deadline {
                        if ((try? FileManager.default.contentsOfDirectory(atPath: outDir)) ?? []).contains(where: { $0.contains(".tmp-") }) { sawTemporary = true; break }
                        usleep(20_000)
                    }
                    kill(pid, sig)
                }
                XCTAssertTrue(sawTemporary, "\(output): no temporary appeared")
                XCTAssertEqual(run.signal, sig, "\(output): \(run.stderr)")
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outDir), [], "\(output) after signal \(sig)")
            }
        }
    }
}

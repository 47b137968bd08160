import Foundation
import HDF5
import Tensors
import TestSupport
import TorchFormat
import VolumeIO
import XCTest

/// The nnU-Net Genesis file through the real `genesis` binary: `verify` and `inspect` read it as
/// the `nnunet` variant from its tensors alone, name every damage, and `run` gives PyTorch's logits
/// on cubes and the official normalisation on a whole scan (Tests/References/nnunet: written by
/// nnunet 1.7.1's own Generic_UNet, base 4, cap 8, the official pools).
final class NNUNetCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }
    var fixture: String { Fixtures.reference("nnunet/nnunet_tiny.model") }
    static let pools = [[2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [1, 2, 2]]

    /// The fixture rewritten by our writer with `change` applied to its state dict (epoch and
    /// optimizer kept; `bare`: the state dict alone, as `torch.save(model.state_dict())`).
    func rewritten(_ name: String, bare: Bool = false, modulePrefix: Bool = false, _ change: (inout TensorStore) -> Void = { _ in }) throws -> String {
        var c = try TorchReader.read(fixture)
        change(&c.stateDict)
        if bare { c = TorchCheckpoint(stateDict: c.stateDict, stateDictKey: nil) }
        let p = Fixtures.scratchDirectory() + "/" + name
        try TorchWriter.write(c, to: p, modulePrefix: modulePrefix)
        return p
    }

    func assertValidNNUNet(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try genesis(["verify", path, "--json"])
        XCTAssertEqual(r.status, 0, "\(path): \(r.stdout) \(r.stderr)", file: file, line: line)
        let j = try XCTUnwrap(r.json, r.stdout, file: file, line: line)
        XCTAssertEqual(j["valid"] as? Bool, true, file: file, line: line)
        XCTAssertEqual(j["variant"] as? String, "nnunet", file: file, line: line)
        XCTAssertEqual(j["family"] as? String, "nnunet-v1-generic-unet", file: file, line: line)
        XCTAssertEqual(j["base_filters"] as? Int, 4, file: file, line: line)
        XCTAssertEqual(j["labels"] as? Int, 2, file: file, line: line)
        XCTAssertEqual(j["pools"] as? [[Int]], Self.pools, file: file, line: line)
        XCTAssertEqual(j["max_filters"] as? Int, 8, file: file, line: line)
    }

    func testVerifyReadsTheNetworkFromItsTensors() throws {
        try assertValidNNUNet(fixture)
        let j = try XCTUnwrap(try genesis(["verify", fixture, "--json"]).json)
        XCTAssertEqual(j["widths"] as? [Int], [4, 8, 8, 8, 8, 8])
        XCTAssertEqual(j["parameters"] as? Int, 41_588)
        XCTAssertEqual(j["tensors_checked"] as? Int, 98)
        XCTAssertEqual(j["bn_statistics"] as? Int, 0)
        XCTAssertEqual(j["genesis"] as? Bool, true)
        XCTAssertEqual((j["problems"] as? [Any])?.count, 0)
        let detected = try XCTUnwrap(j["detected"] as? [String: Any])
        XCTAssertEqual(detected["variant"] as? String, "nnunet")
        XCTAssertEqual(detected["pools"] as? [[Int]], Self.pools)
        let structure = try XCTUnwrap(j["structure"] as? [String: Any])
        XCTAssertEqual(structure["recognised"] as? Bool, true)
        XCTAssertEqual(structure["fitting_kernels"] as? Int, 32)
        let text = try genesis(["verify", fixture])
        XCTAssertEqual(text.status, 0, text.stderr)
        let lines = text.stdout.components(separatedBy: "\n")
        XCTAssertTrue(lines.contains("nnU-Net Genesis, base 4, cap 8, pools 2x2x2 x4, 1x2x2, 2 labels (logits) (detected): 41,588 trainable values, 98 tensors"), text.stdout)
        XCTAssertTrue(lines.contains("valid: every tensor present, shaped and typed as expected, finite"), text.stdout)
        // Asked for by name: the same network; another base width is checked as asked.
        XCTAssertEqual(try genesis(["verify", fixture, "--variant", "nnunet"]).status, 0)
        let asked = try genesis(["verify", fixture, "--variant", "nnunet", "--base-filters", "8", "--json"])
        XCTAssertEqual(asked.status, 1)
        XCTAssertEqual((asked.json?["problems"] as? [[String: Any]])?.first?["tensor"] as? String, "conv_blocks_localization.4.0.blocks.0.conv.weight")
        XCTAssertEqual(try genesis(["verify", fixture, "--variant", "tensorflow"]).status, 2)
    }

    /// The same dict as `.pt` and `.pth`, with the DataParallel prefix, and a bare state dict.
    func testTheSameNetworkInOtherFilesVerifies() throws {
        let dir = Fixtures.scratchDirectory()
        for ext in ["pt", "pth"] {
            try FileManager.default.copyItem(atPath: fixture, toPath: dir + "/copy.\(ext)")
            try assertValidNNUNet(dir + "/copy.\(ext)")
        }
        try assertValidNNUNet(try rewritten("bare.pth", bare: true))
        try assertValidNNUNet(try rewritten("parallel.model", modulePrefix: true))
    }

    /// A missing tensor, a wrong shape, NaN and stray keys: every one named with tensor, kind,
    /// expected and found (exit 1); still the nnunet variant at base 4.
    func testEveryDamageIsNamed() throws {
        let p = try rewritten("damaged.model") { s in
            s["conv_blocks_localization.2.1.blocks.0.conv.bias"] = nil
            s["conv_blocks_context.2.blocks.1.conv.weight"] = Tensor(shape: [6, 8, 3, 3, 3], floats: [Float](repeating: 0.1, count: 6 * 8 * 27))
            var w = s["seg_outputs.4.weight"]!.floats()
            w[0] = .nan
            s["seg_outputs.4.weight"] = Tensor(shape: [2, 4, 1, 1, 1], floats: w)
            s["tu.0.bias"] = Tensor(shape: [8], floats: [Float](repeating: 0, count: 8))
        }
        let r = try genesis(["verify", p, "--json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        let j = try XCTUnwrap(r.json)
        XCTAssertEqual(j["valid"] as? Bool, false)
        XCTAssertEqual(j["variant"] as? String, "nnunet")
        XCTAssertEqual(j["base_filters"] as? Int, 4)
        let problems = try XCTUnwrap(j["problems"] as? [[String: Any]]).map { p in ["tensor", "kind", "expected", "found"].map { p[$0] as? String ?? "?" } }
        XCTAssertEqual(problems, [
            ["conv_blocks_localization.2.1.blocks.0.conv.bias", "missing", "(8)", "absent"],
            ["conv_blocks_context.2.blocks.1.conv.weight", "shape", "(8,8,3,3,3)", "(6,8,3,3,3)"],
            ["seg_outputs.4.weight", "non_finite", "finite values", "1 NaN"],
            ["tu.0.bias", "unexpected", "absent", "float32 (8)"],
        ])
        let text = try genesis(["verify", p])
        XCTAssertEqual(text.status, 1)
        for needle in ["  missing: conv_blocks_localization.2.1.blocks.0.conv.bias: missing (expected float32 (8))",
                       "  shape: conv_blocks_context.2.blocks.1.conv.weight: wrong shape: expected (8,8,3,3,3), found (6,8,3,3,3)",
                       "  non_finite: seg_outputs.4.weight: 1 NaN of 8 values", "  unexpected: tu.0.bias: not part of the network", "invalid: 4 problems"] {
            XCTAssertTrue(text.stdout.contains(needle), "\(needle)\n\(text.stdout)")
        }
        // `run` refuses it (the stray key aside), naming the first problem and how to see all.
        let x = try cubes()
        let refused = try genesis(["run", p, "--input", x, "--output", Fixtures.scratchDirectory() + "/y.npy"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("3 problems (first: conv_blocks_localization.2.1.blocks.0.conv.bias: missing (expected float32 (8)))"), refused.stderr)
    }

    func testInspectNamesTheNetworkAndItsOptimizer() throws {
        let r = try genesis(["inspect", fixture])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.components(separatedBy: "\n")[1].hasPrefix("looks like: nnU-Net Genesis, base 4, cap 8, pools 2x2x2 x4, 1x2x2, 2 labels (logits): 32 of 32 kernels fit"),
                      r.stdout)
        XCTAssertTrue(r.stdout.contains("optimizer: sgd (torch convention) (lr 0.1, momentum 0.9"), r.stdout)
        let j = try XCTUnwrap(try genesis(["inspect", fixture, "--json"]).json)
        let network = try XCTUnwrap(j["network"] as? [String: Any])
        XCTAssertEqual(network["variant"] as? String, "nnunet")
        XCTAssertEqual(network["pools"] as? [[Int]], Self.pools)
        XCTAssertTrue(j["genesis"] is NSNull)
        XCTAssertEqual((j["totals"] as? [String: Any])?["tensors"] as? Int, 98)
    }

    /// The reference's input (already normalised as the official script does) as a .npy.
    func cubes() throws -> String {
        let ref = try H5File.open(Fixtures.reference("nnunet/nnunet_tiny.reference.h5")).root()
        let p = Fixtures.scratchDirectory() + "/x.npy"
        try NPY.write(try ref.readFloat32("input"), to: p)
        return p
    }

    /// `run` on cubes writes the logits as the network returns them: PyTorch's to <= 2e-5.
    func testRunOnCubesGivesPyTorchsLogits() throws {
        let x = try cubes()
        let y = Fixtures.scratchDirectory() + "/y.npy"
        let r = try genesis(["run", fixture, "--input", x, "--output", y, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json)
        XCTAssertEqual(j["output_kind"] as? String, "logits")
        XCTAssertEqual(j["variant"] as? String, "nnunet")
        XCTAssertEqual(j["output_shape"] as? [Int], [2, 2, 32, 32, 32])
        XCTAssertTrue(j["window"] is NSNull, "cubes are taken as they are")
        let ours = try NPY.read(y)
        let expected = try H5File.open(Fixtures.reference("nnunet/nnunet_tiny.reference.h5")).root().readFloat32("logits")
        XCTAssertEqual(ours.shape, expected.shape)
        let deviation = zip(ours.floats(), expected.floats()).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        print("genesis run on the nnU-Net fixture: max abs deviation from PyTorch's logits \(deviation)")
        // Issue 21's bound; measured 1.39e-5 (PyTorch's own float32 logits are 1.38e-5 from its float64 evaluation).
        XCTAssertLessThanOrEqual(deviation, 2e-5)
        // Text: the network, what normalises it, and a note that cubes are taken as they are.
        let text = try genesis(["run", fixture, "--input", x, "--output", y, "--force"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("nnU-Net Genesis, base 4, cap 8, pools 2x2x2 x4, 1x2x2, 2 labels (logits), no BatchNorm (InstanceNorm per cube)"), text.stdout)
        XCTAssertTrue(text.stderr.contains("--window nnunet-ct for HU, --window nnunet-cubes for [0, 1] cubes"), text.stderr)
    }

    func testRunRefusesSidesThatAreNotTheNetworksMultiples() throws {
        let dir = Fixtures.scratchDirectory()
        try NPY.write(Tensor(shape: [1, 1, 16, 16, 32], floats: [Float](repeating: 0, count: 16 * 16 * 32)), to: dir + "/x.npy")
        let r = try genesis(["run", fixture, "--input", dir + "/x.npy", "--output", dir + "/y.npy"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("cubes of (16,16,32): every side must be a multiple of 16 on D, 32 on H, 32 on W (the network downsamples D, H, W by 16, 32, 32 in 5 steps); crop or pad them, e.g. to (16,32,32)"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/y.npy"))
    }

    /// A whole scan in HU gets the official normalisation by default, said in the summary; with
    /// one window of exactly the scan's size the output is the network's on the normalised cube,
    /// which `run` on the same HU cube with `--window nnunet-ct` gives, and `--window
    /// nnunet-cubes` on the [0, 1] cube the official generator makes of it.
    func testAWholeScanGetsTheOfficialNormalisation() throws {
        let dir = Fixtures.scratchDirectory()
        let side = 32, n = side * side * side
        var rng = SeededGenerator(seed: 11)
        let hu = (0..<n).map { _ in Float(Int(rng.next() % 2400) - 1200) }  // beyond the clip on both sides
        // NIfTI voxels run i fastest; the cube (D, H, W) = (i, j, k) in C order.
        var voxels = [Float](repeating: 0, count: n)
        for i in 0..<side { for j in 0..<side { for k in 0..<side { voxels[i + side * (j + side * k)] = hu[(i * side + j) * side + k] } } }
        let scan = dir + "/scan.nii"
        try VolumeFile.writeNIfTI(Volume(shape: [side, side, side], voxels: voxels, geometry: .fromLPS(spacing: [1, 1, 1], origin: [0, 0, 0],
                                                                                                        direction: [1, 0, 0, 0, 1, 0, 0, 0, 1]),
                                         format: "nifti1", storedType: "float32"), to: scan)
        let r = try genesis(["run", fixture, "--input", scan, "--output", dir + "/y.nii", "--patch", "32,32,32", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try XCTUnwrap(r.json)
        let window = try XCTUnwrap(j["window"] as? [String: Any])
        XCTAssertEqual(window["name"] as? String, "nnunet-ct")
        XCTAssertEqual(window["low"] as? Double, -1000)
        XCTAssertEqual(window["high"] as? Double, 1000)
        XCTAssertEqual(window["mean"] as? Double, -775.8457)
        XCTAssertEqual(window["std"] as? Double, 251.9326)
        XCTAssertEqual(j["window_origin"] as? String, "the default for nnU-Net Genesis")
        XCTAssertEqual(j["output_shape"] as? [Int], [side, side, side, 2])
        let text = try genesis(["run", fixture, "--input", scan, "--output", dir + "/t.nii", "--patch", "32,32,32"])
        XCTAssertTrue(text.stdout.contains(", window nnunet-ct (HU clipped to [-1000, 1000], then (x - (-775.8457)) / 251.9326, as Genesis_nnUNet.py normalised its input), the default for nnU-Net Genesis: 1 windows"),
                      text.stdout)

        try NPY.write(Tensor(shape: [1, 1, side, side, side], floats: hu), to: dir + "/hu.npy")
        XCTAssertEqual(try genesis(["run", fixture, "--input", dir + "/hu.npy", "--window", "nnunet-ct", "--output", dir + "/hu_y.npy"]).status, 0)
        let unit = hu.map { (min(max($0, -1000), 1000) + 1000) / 2000 }   // the official cube generator's [0, 1]
        try NPY.write(Tensor(shape: [1, 1, side, side, side], floats: unit), to: dir + "/unit.npy")
        XCTAssertEqual(try genesis(["run", fixture, "--input", dir + "/unit.npy", "--window", "nnunet-cubes", "--output", dir + "/unit_y.npy"]).status, 0)
        let cube = try NPY.read(dir + "/hu_y.npy").floats(), fromUnit = try NPY.read(dir + "/unit_y.npy").floats()
        let written = try VolumeFile.read(dir + "/y.nii").voxels   // (i, j, k, label), i fastest
        var scanVsCube: Float = 0, unitVsHU: Float = 0
        for c in 0..<2 { for i in 0..<side { for j in 0..<side { for k in 0..<side {
            let y = cube[((c * side + i) * side + j) * side + k]
            scanVsCube = max(scanVsCube, abs(written[i + side * (j + side * (k + side * c))] - y))
            unitVsHU = max(unitVsHU, abs(fromUnit[((c * side + i) * side + j) * side + k] - y))
        } } } }
        XCTAssertLessThanOrEqual(scanVsCube, 1e-5, "one Gaussian-weighted window divides out up to rounding")
        XCTAssertLessThanOrEqual(unitVsHU, 1e-4, "[0, 1] cubes taken back to HU: the same input up to float32 rounding of the cube")
    }
}

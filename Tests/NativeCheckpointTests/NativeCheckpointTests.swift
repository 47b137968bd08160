import Foundation
import NativeCheckpoint
import SafeTensors
import Tensors
import TestSupport
import XCTest

final class NativeCheckpointTests: XCTestCase {
    /// A tiny canonical store: one conv+BN block, a transposed conv, with PyTorch layouts.
    static func sampleWeights() -> TensorStore {
        func f32(_ shape: [Int], _ seed: Float) -> Tensor {
            let n = shape.reduce(1, *)
            return Tensor(shape: shape, floats: (0..<n).map { Float($0) * 0.01 + seed })
        }
        var s = TensorStore()
        s["down_tr64.ops.0.conv1.weight"] = f32([4, 1, 3, 3, 3], 0.5)
        s["down_tr64.ops.0.conv1.bias"] = f32([4], -1)
        s["down_tr64.ops.0.bn1.weight"] = f32([4], 1)
        s["down_tr64.ops.0.bn1.bias"] = f32([4], 0)
        s["down_tr64.ops.0.bn1.running_mean"] = f32([4], 0.25)
        s["down_tr64.ops.0.bn1.running_var"] = f32([4], 2)
        s["down_tr64.ops.0.bn1.num_batches_tracked"] = Tensor(scalarInt64: 2)
        s["up_tr256.up_conv.weight"] = f32([2, 2, 2, 2, 2], 3)
        s["out_tr.final_conv.bias"] = f32([1], -0.5)
        return s
    }

    static func sampleSlots() -> TensorStore {
        var s = TensorStore()
        s["optimizer/down_tr64.ops.0.conv1.weight/exp_avg"] = Tensor(shape: [4, 1, 3, 3, 3], floats: (0..<108).map { Float($0) * -0.001 })
        s["optimizer/down_tr64.ops.0.conv1.weight/exp_avg_sq"] = Tensor(shape: [4, 1, 3, 3, 3], floats: (0..<108).map { Float($0) * 1e-6 })
        s["optimizer/down_tr64.ops.0.conv1.weight/step"] = Tensor(scalarInt64: 2)
        s["optimizer/out_tr.final_conv.bias/exp_avg"] = Tensor(shape: [1], floats: [0.125])
        return s
    }

    static func sampleMetadata() -> NativeMetadata {
        NativeMetadata(
            architecture: ArchitectureInfo(variant: "torch", baseWidth: 4, labels: 1, inputShape: [1, 16, 16, 8],
                                           bnEpsilon: 1e-5, bnMomentum: 0.1, bnMomentumConvention: "torch"),
            provenance: Provenance(sourceFile: "genesis_tiny.pt", sourceSHA256: String(repeating: "ab", count: 32),
                                   sourceFormat: "torch-zip", sourceFormatVersion: "3",
                                   conversion: ["stripped \"module.\" prefix", "kept PyTorch layouts"], createdBy: "genesis tests"),
            training: TrainingState(epoch: 3, step: 2, optimizer: OptimizerInfo(
                kind: "adam", convention: "torch",
                hyperparameters: ["lr": .number(1e-3), "betas": .numbers([0.9, 0.999]), "amsgrad": .bool(false),
                                  "weight_decay": .number(0), "foreach": .string("none")])))
    }

    static func sample() -> NativeCheckpoint {
        NativeCheckpoint(weights: sampleWeights(), optimizerSlots: sampleSlots(), metadata: sampleMetadata())
    }

    func assertSameTensors(_ a: TensorStore, _ b: TensorStore, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(a.names), Set(b.names), file: file, line: line)
        for (n, t) in a.entries { XCTAssertEqual(b[n], t, n, file: file, line: line) }
    }

    func testRoundTrip() throws {
        let path = Fixtures.scratchDirectory() + "/tiny.genesis"
        let original = Self.sample()
        try original.write(to: path)
        let back = try NativeCheckpoint.read(path)
        assertSameTensors(original.weights, back.weights)
        assertSameTensors(original.optimizerSlots, back.optimizerSlots)
        var expected = original.metadata
        expected.dataSHA256 = back.metadata.dataSHA256
        XCTAssertEqual(back.metadata, expected)
        // The checksum is the SHA-256 of the bytes after the header, computed independently.
        let bytes = try FileIO.read(path)
        let plain = try SafeTensors.read(path)
        XCTAssertEqual(back.metadata.dataSHA256, Checksum.sha256Hex(bytes[(8 + plain.headerLength)...]))
        // Writing what was read gives the same bytes.
        XCTAssertEqual(try back.serialized(), bytes)
    }

    func testOpensAsPlainSafeTensors() throws {
        let path = Fixtures.scratchDirectory() + "/tiny.genesis"
        try Self.sample().write(to: path)
        let f = try SafeTensors.read(path)
        XCTAssertEqual(f.metadata["format"], "genesis")
        XCTAssertEqual(f.metadata["format_version"], "1.0")
        XCTAssertEqual(Set(f.metadata.keys), ["format", "format_version", "genesis"])
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(f.metadata["genesis"]!.utf8)) as? [String: Any])
        XCTAssertEqual(doc["format_version"] as? String, "1.0")
        XCTAssertEqual((doc["architecture"] as? [String: Any])?["base_width"] as? Int, 4)
        XCTAssertEqual(f.tensors.count, Self.sampleWeights().count + Self.sampleSlots().count)
        XCTAssertEqual(f.tensors["optimizer/down_tr64.ops.0.conv1.weight/step"], Tensor(scalarInt64: 2))
        XCTAssertEqual(f.tensors["down_tr64.ops.0.conv1.weight"], Self.sampleWeights()["down_tr64.ops.0.conv1.weight"])
    }

    func testChecksumMismatchAfterOneFlippedDataByte() throws {
        let path = Fixtures.scratchDirectory() + "/flipped.genesis"
        try Self.sample().write(to: path)
        var bytes = try FileIO.read(path)
        let expected = try NativeCheckpoint.read(path).metadata.dataSHA256
        bytes[bytes.count - 3] ^= 0x01
        try FileIO.write(bytes, to: path)
        XCTAssertThrowsError(try NativeCheckpoint.read(path)) { e in
            guard case let .checksumMismatch(file, exp, found)? = e as? NativeCheckpointError else { return XCTFail("\(e)") }
            XCTAssertEqual(file, path)
            XCTAssertEqual(exp, expected)
            XCTAssertNotEqual(found, expected)
            let text = "\(e)"
            XCTAssertTrue(text.hasPrefix(path + ": ") && text.contains("checksum mismatch") && text.contains(expected) && text.contains(found), text)
        }
    }

    func testRefusesNewerMajorNamingBothVersions() throws {
        let path = try rewritten { meta in
            meta["format_version"] = "2.0"
            meta["genesis"] = "{\"format\":\"genesis\",\"format_version\":\"2.0\",\"whatever\":\"a 2.0 document we cannot read\"}"
        }
        XCTAssertThrowsError(try NativeCheckpoint.read(path)) { e in
            XCTAssertEqual(e as? NativeCheckpointError, .unsupportedVersion(file: path, found: "2.0", supported: "1.x"))
            XCTAssertEqual("\(e)", "\(path): file is format version 2.0; this genesis reads 1.x")
        }
    }

    func testAcceptsNewerMinorIgnoringUnknownFields() throws {
        let path = try rewritten { meta in
            meta["format_version"] = "1.7"
            meta["genesis"] = meta["genesis"]!
                .replacingOccurrences(of: "\"format_version\":\"1.0\"", with: "\"format_version\":\"1.7\",\"added_in_1_7\":{\"x\":[1,2]}")
            meta["genesis_extra"] = "a key a later minor might add"
        }
        let c = try NativeCheckpoint.read(path)
        XCTAssertEqual(c.metadata.formatVersion, FormatVersion(major: 1, minor: 7))
        assertSameTensors(Self.sampleWeights(), c.weights)
        // Rewriting it writes the current version.
        let again = Fixtures.scratchDirectory() + "/again.genesis"
        try c.write(to: again)
        XCTAssertEqual(try SafeTensors.read(again).metadata["format_version"], "1.0")
    }

    func testRefusesBadVersionsAndMissingKeys() throws {
        for bad in ["0.9", "1", "1.0.0", "01.0", "1.x", "-1.0", "+1.0", "99999999999999999999.0"] {
            let path = try rewritten { $0["format_version"] = bad }
            XCTAssertThrowsError(try NativeCheckpoint.read(path), bad) { e in
                XCTAssertEqual(e as? NativeCheckpointError, .badVersion(file: path, found: bad))
            }
        }
        let noDoc = try rewritten { $0["genesis"] = nil }
        XCTAssertThrowsError(try NativeCheckpoint.read(noDoc)) { e in
            XCTAssertEqual(e as? NativeCheckpointError, .missingMetadata(file: noDoc, key: "genesis"))
        }
        let mismatch = try rewritten { $0["format_version"] = "1.1" }
        XCTAssertThrowsError(try NativeCheckpoint.read(mismatch)) { e in
            guard case .badMetadata(_, "format_version", _)? = e as? NativeCheckpointError else { return XCTFail("\(e)") }
        }
    }

    func testRefusesPlainSafeTensors() throws {
        let path = Fixtures.path("formats/t.safetensors")
        XCTAssertThrowsError(try NativeCheckpoint.read(path)) { e in
            XCTAssertEqual(e as? NativeCheckpointError, .notGenesis(file: path, found: "pt"))
            XCTAssertTrue("\(e)".contains("not a genesis checkpoint"), "\(e)")
        }
    }

    func testRefusesBadDocuments() throws {
        let cases: [(String, (String) -> String, String)] = [
            ("duplicate key", { $0.replacingOccurrences(of: "{\"architecture\"", with: "{\"format\":\"genesis\",\"architecture\"") }, "genesis"),
            ("missing architecture", { $0.replacingOccurrences(of: "\"architecture\"", with: "\"architectur\"") }, "architecture"),
            ("bad variant", { $0.replacingOccurrences(of: "\"variant\":\"torch\"", with: "\"variant\":\"tf\"") }, "architecture.variant"),
            ("bad base", { $0.replacingOccurrences(of: "\"base_width\":4", with: "\"base_width\":0") }, "architecture.base_width"),
            ("string base", { $0.replacingOccurrences(of: "\"base_width\":4", with: "\"base_width\":\"4\"") }, "architecture.base_width"),
            ("non-positive input side", { $0.replacingOccurrences(of: "\"input_shape\":[1,16,16,8]", with: "\"input_shape\":[1,16,0,8]") }, "architecture.input_shape"),
            ("input cube past the tensor cap", { $0.replacingOccurrences(of: "\"input_shape\":[1,16,16,8]",
                                                                         with: "\"input_shape\":[1,4000000000000000000,4000000000000000000,16]") }, "architecture.input_shape"),
            ("bad convention", { $0.replacingOccurrences(of: "\"convention\":\"torch\"", with: "\"convention\":\"jax\"") }, "training.optimizer.convention"),
            ("not JSON", { _ in "{\"architecture\":" }, "genesis"),
        ]
        for (what, change, field) in cases {
            let path = try rewritten { $0["genesis"] = change($0["genesis"]!) }
            XCTAssertThrowsError(try NativeCheckpoint.read(path), what) { e in
                guard case let .badMetadata(file, f, _)? = e as? NativeCheckpointError else { return XCTFail("\(what): \(e)") }
                XCTAssertEqual(file, path, what)
                XCTAssertEqual(f, field, "\(what): \(e)")
            }
        }
    }

    func testWriterRefusesInvalidNamesAndSlots() throws {
        let path = Fixtures.scratchDirectory() + "/bad.genesis"
        var c = Self.sample()
        c.optimizerSlots["optimizer/no.such.weight/exp_avg"] = Tensor(shape: [1], floats: [0])
        XCTAssertThrowsError(try c.write(to: path)) { e in
            guard case .badTensorName(path, "optimizer/no.such.weight/exp_avg", _)? = e as? NativeCheckpointError else { return XCTFail("\(e)") }
        }
        c = Self.sample()
        c.optimizerSlots["optimizer/out_tr.final_conv.bias/exp_avg_sq"] = Tensor(shape: [2], floats: [0, 0])
        XCTAssertThrowsError(try c.write(to: path)) { e in
            XCTAssertEqual(e as? NativeCheckpointError, .shapeMismatch(file: path, tensor: "optimizer/out_tr.final_conv.bias/exp_avg_sq", expected: [1], found: [2]))
        }
        c = Self.sample()
        c.optimizerSlots["optimizer/iterations"] = Tensor(shape: [], floats: [1])
        XCTAssertThrowsError(try c.write(to: path)) { e in
            guard case .badTensorName(_, "optimizer/iterations", let r)? = e as? NativeCheckpointError else { return XCTFail("\(e)") }
            XCTAssertTrue(r.contains("int64 0-d"), r)
        }
        c = Self.sample()
        c.weights["model/conv.weight"] = Tensor(shape: [1], floats: [0])
        XCTAssertThrowsError(try c.write(to: path)) { e in
            guard case .badTensorName(_, "model/conv.weight", _)? = e as? NativeCheckpointError else { return XCTFail("\(e)") }
        }
        c = Self.sample()
        c.metadata.training = nil
        XCTAssertThrowsError(try c.write(to: path)) { e in
            guard case .badMetadata(_, "training.optimizer", _)? = e as? NativeCheckpointError else { return XCTFail("\(e)") }
        }
        XCTAssertFalse(FileIO.exists(path), "a refused write must leave no file")
    }

    func testWeightsOnlyWithoutTrainingState() throws {
        var meta = Self.sampleMetadata()
        meta.training = nil
        meta.provenance = Provenance(conversion: [])
        let c = NativeCheckpoint(weights: Self.sampleWeights(), metadata: meta)
        let back = try NativeCheckpoint.read(bytes: try c.serialized(), file: "w.genesis")
        XCTAssertNil(back.metadata.training)
        XCTAssertTrue(back.optimizerSlots.isEmpty)
        assertSameTensors(c.weights, back.weights)
    }

    func testCorruptContainerIsReportedAsSafeTensorsError() throws {
        var bytes = try Self.sample().serialized()
        bytes.append(0)
        XCTAssertThrowsError(try NativeCheckpoint.read(bytes: bytes, file: "t.genesis")) { e in
            guard case .safeTensors(.fileLengthMismatch("t.genesis", _, _))? = e as? NativeCheckpointError else { return XCTFail("\(e)") }
        }
    }

    /// Writes the sample to $GENESIS_INTEROP_OUT (or scratch) for scripts/interop_safetensors.py.
    func testWritesInteropSample() throws {
        let dir = ProcessInfo.processInfo.environment["GENESIS_INTEROP_OUT"] ?? Fixtures.scratchDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/interop.genesis"
        try Self.sample().write(to: path)
        XCTAssertEqual(try NativeCheckpoint.read(path).weights.count, Self.sampleWeights().count)
    }

    /// Writes the sample, changes its `__metadata__` with plain safetensors (same tensors, so the
    /// checksum still holds) and returns the new file's path.
    func rewritten(_ change: (inout [String: String]) -> Void) throws -> String {
        let dir = Fixtures.scratchDirectory()
        let bytes = try Self.sample().serialized()
        var f = try SafeTensors.read(bytes: bytes)
        change(&f.metadata)
        let path = dir + "/rewritten.genesis"
        try SafeTensors.write(f.tensors, metadata: f.metadata, to: path)
        return path
    }
}

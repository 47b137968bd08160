import HDF5
import Tensors
import TestSupport
@testable import TorchFormat
import XCTest

/// Every `.pt` fixture, read and checked against values established independently.
///
/// The SHA-256 values below were computed once with torch 2.15 (/opt/peers/bin/python):
/// `hashlib.sha256(t.contiguous().numpy().tobytes())` per tensor of
/// `torch.load(path, weights_only=True)`, and for optimizer state the SHA-256 of the
/// concatenated bytes of every parameter's buffer in state-key order. CI has no torch.
final class TorchReaderTests: XCTestCase {
    /// sd.pt, sd_buffer.pt and sd_legacy.pt hold the same state dict (and ckpt_adam.pt's).
    static let smallStateDict: [(String, [Int], DType, String)] = [
        ("conv1.weight", [2, 1, 3, 3, 3], .float32, "426cf2678674db3c5702b4fc90f5a3a1a4dece969ce985c0a587dd8334f6d4e8"),
        ("conv1.bias", [2], .float32, "3df3cf6529c364b9915aca9cfc026a2c5f3769876506e0992e0b2b4e9b997dbc"),
        ("bn1.weight", [2], .float32, "3dfa56961394e90dbd6fc0a85cf2292827f096cfde1da146e9554e8fd4e5cc0d"),
        ("bn1.bias", [2], .float32, "8be72be6de73a38a377e2be03d25b7e3dffab6c9d4a13cbf4d42a7fa2a603eb4"),
        ("bn1.running_mean", [2], .float32, "32a944c3f4e05202ecbf7591ae9392844ac9a58750005fd2f1e239a60da1ab30"),
        ("bn1.running_var", [2], .float32, "0d16ce57cfa229b7017f12b214ec1288d6efd169f8fa08c67d6c5701d600f3af"),
        ("bn1.num_batches_tracked", [], .int64, "d86e8112f3c4c4442126f8e9f44f16867da487f29052bf91b810457db34209a4"),
        ("up.weight", [2, 2, 2, 2, 2], .float32, "115c3eeeb4268cb8d1846f912f417a54334dd6630e72eb4df93f26312c681c31"),
        ("up.bias", [2], .float32, "7adcca872f64ec43ba1c59e745b3da0fbf0bef2d767b548eb08ab610c647bd61"),
    ]

    func checkSmall(_ store: TensorStore, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(store.names, Self.smallStateDict.map(\.0), file: file, line: line)
        for (name, shape, dtype, sha) in Self.smallStateDict {
            guard let t = store[name] else { XCTFail("missing \(name)", file: file, line: line); continue }
            XCTAssertEqual(t.shape, shape, name, file: file, line: line)
            XCTAssertEqual(t.dtype, dtype, name, file: file, line: line)
            XCTAssertEqual(t.sha256, sha, name, file: file, line: line)
        }
    }

    func testBareStateDictsZipBufferAndLegacy() throws {
        for (fixture, format) in [("formats/sd.pt", TorchFileFormat.zip), ("formats/sd_buffer.pt", .zip), ("formats/sd_legacy.pt", .legacy)] {
            let path = Fixtures.path(fixture)
            XCTAssertEqual(TorchReader.sniff(path), format, fixture)
            let c = try TorchReader.read(path)
            XCTAssertEqual(c.format, format, fixture)
            XCTAssertNil(c.stateDictKey, fixture)
            XCTAssertNil(c.epoch, fixture)
            XCTAssertNil(c.optimizer, fixture)
            XCTAssertFalse(c.hadModulePrefix, fixture)
            XCTAssertEqual(c.otherKeys, [], fixture)
            checkSmall(c.stateDict)
        }
    }

    func testSGDCheckpoint() throws {
        let c = try TorchReader.read(Fixtures.path("formats/ckpt_sgd.pt"))
        XCTAssertEqual(c.epoch, 3)
        XCTAssertEqual(c.stateDictKey, "state_dict")
        XCTAssertEqual(c.stateDict.count, 9)
        XCTAssertEqual(c.stateDict["conv1.weight"]?.sha256, "2177b4537e7f1e9e4e3bd93cd024ad79dac8a45d612cb913b6ef8278b1ac6086")
        XCTAssertEqual(c.stateDict["up.bias"]?.sha256, "3c6f523bd5eacddc891bc37002b5964bc9712012dcc06218b734fbcef2e6d939")
        XCTAssertEqual(c.stateDict["bn1.num_batches_tracked"]?.sha256, "7c9fa136d4413fa6173637e883b6998d32e1d675f88cddff9dcbcf331820f4b8")
        let o = try XCTUnwrap(c.optimizer)
        XCTAssertEqual(o.kind, .sgd)
        XCTAssertEqual(o.keyStyle, .index)
        XCTAssertEqual(o.paramGroups.count, 1)
        let g = o.paramGroups[0]
        XCTAssertEqual(g.params, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(g["lr"]?.doubleValue, 0.1)
        XCTAssertEqual(g["momentum"]?.doubleValue, 0.9)
        XCTAssertEqual(g["dampening"], .int(0))
        XCTAssertEqual(g["weight_decay"], .int(0))
        XCTAssertEqual(g["nesterov"], .bool(false))
        XCTAssertEqual(g["foreach"], TorchValue.none)
        XCTAssertEqual(g.hyperparameters.map(\.name),
                       ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "foreach", "differentiable", "fused"])
        XCTAssertEqual(o.state.keys.sorted(), [0, 1, 2, 3, 4, 5])
        // Position i is the i-th parameter: conv1.weight, conv1.bias, bn1.weight, bn1.bias, up.weight, up.bias.
        XCTAssertEqual(o.tensor("momentum_buffer", position: 0)?.shape, [2, 1, 3, 3, 3])
        XCTAssertEqual(o.tensor("momentum_buffer", position: 4)?.shape, [2, 2, 2, 2, 2])
        XCTAssertEqual(concatenatedSHA(o, "momentum_buffer"), "7d56ffab7d4409d9599e0602a16df3303d9417928dce2cc0f0a4b8d70d1038d6")
    }

    func testAdamCheckpoint() throws {
        let c = try TorchReader.read(Fixtures.path("formats/ckpt_adam.pt"))
        XCTAssertEqual(c.epoch, 3)
        checkSmall(c.stateDict)
        let o = try XCTUnwrap(c.optimizer)
        XCTAssertEqual(o.kind, .adam)
        let g = o.paramGroups[0]
        XCTAssertEqual(g["lr"]?.doubleValue, 0.001)
        XCTAssertEqual(g["betas"], .tuple([.double(0.9), .double(0.999)]))
        XCTAssertEqual(g["eps"]?.doubleValue, 1e-8)
        XCTAssertEqual(g["amsgrad"], .bool(false))
        XCTAssertEqual(g["weight_decay"], .int(0))
        XCTAssertEqual(g.params, [0, 1, 2, 3, 4, 5])
        for p in 0..<6 {
            // torch 2.x: step is a 0-d float32 tensor holding 1.0 after one step.
            let step = try XCTUnwrap(o.state[p]?["step"]?.tensorValue)
            XCTAssertEqual(step.shape, [])
            XCTAssertEqual(step.dtype, .float32)
            XCTAssertEqual(o.step(position: p), 1.0)
            XCTAssertEqual(o.state[p]?.map(\.name), ["step", "exp_avg", "exp_avg_sq"])
        }
        XCTAssertEqual(concatenatedSHA(o, "exp_avg"), "43b0c3efe223fe3596c822d8e262724c986e402ceac6ba153c5f0644427994c0")
        XCTAssertEqual(concatenatedSHA(o, "exp_avg_sq"), "378850bcd3173dd76d2699795c7658bc7f7b2a52923b28c1d3b20ca92079e642")
    }

    /// genesis_tiny.pt (zip) and genesis_tiny_legacy.pt.
    ///
    /// FIXTURE DEFECT (reported upstream): in both `*.reference.h5` files `before/` equals
    /// `after/` for all 106 tensors, and `before/` is NOT the state dict of the `.pt` file:
    /// torch itself (`torch.load(..., weights_only=True)`) finds only 25 of 106 tensors equal
    /// (the conv biases that feed BN, whose gradient is zero). `before/` looks like the weights
    /// before the two SGD steps the file records. So names, shapes and dtypes are checked
    /// against the reference, and the bits against digests torch computed from the `.pt` files
    /// (SHA-256 of every state-dict tensor's bytes concatenated in file order).
    func testGenesisTinyMatchesTorchAndReferenceLayout() throws {
        let cases = [("torch/genesis_tiny.pt", "torch/genesis_tiny.reference.h5", TorchFileFormat.zip,
                      "a64b6aae524f9140099666e254fdff6a234f36fa03d5510b5f9aa6eccace5a56",
                      "3be421f61f868b5b1441818daba1b5ad14b9d0ab32d953d5398d7497b0c7dce8"),
                     ("torch/genesis_tiny_legacy.pt", "torch/genesis_tiny_legacy.reference.h5", .legacy,
                      "984ce1b31bb44df04ba0f897471fc777a92d2337eff71314552d42d447b5fef9",
                      "9ca326d8ac495acf5a08a3a4c9d862cbb9a9f9c54511af7aa682cd55352e6868")]
        for (pt, ref, format, stateSHA, momentumSHA) in cases {
            let c = try TorchReader.read(Fixtures.path(pt))
            XCTAssertEqual(c.format, format, pt)
            XCTAssertEqual(c.epoch, 3, pt)
            XCTAssertTrue(c.hadModulePrefix, pt)
            XCTAssertEqual(c.stateDict.count, 106, pt)
            XCTAssertTrue(c.stateDict.names[0].hasPrefix("module.down_tr64."), pt)
            XCTAssertEqual(Checksum.sha256Hex(c.stateDict.entries.flatMap(\.tensor.bytes)), stateSHA, pt)
            let root = try H5File.open(Fixtures.path(ref)).root()
            let stripped = c.strippedStateDict
            XCTAssertEqual(Set(stripped.names), Set(try root.group("before").memberNames()), pt)
            var identical = 0
            for (name, t) in stripped.entries {
                let expected = try root.readTensor("before/\(name)")
                XCTAssertEqual(t.dtype, expected.dtype, "\(pt) \(name)")
                XCTAssertEqual(t.shape, expected.shape, "\(pt) \(name)")
                if t.bytes == expected.bytes { identical += 1 }
            }
            // Zero-gradient tensors (BN-fed conv biases, num_batches_tracked) agree even with
            // the defective reference; this guards against reading the wrong tensors entirely.
            XCTAssertGreaterThanOrEqual(identical, 25, pt)
            let o = try XCTUnwrap(c.optimizer, pt)
            XCTAssertEqual(o.kind, .sgd)
            XCTAssertEqual(o.parameterCount, 64, pt)
            XCTAssertEqual(o.state.count, 64, pt)
            XCTAssertEqual(o.paramGroups[0]["lr"]?.doubleValue, 0.1)
            XCTAssertEqual(o.paramGroups[0]["momentum"]?.doubleValue, 0.9)
            XCTAssertEqual(o.paramGroups[0]["weight_decay"], .double(0))
            // Position 0 is down_tr64.ops.0.conv1.weight: the buffer has the weight's shape.
            XCTAssertEqual(o.tensor("momentum_buffer", position: 0)?.shape, c.stateDict["module.down_tr64.ops.0.conv1.weight"]?.shape)
            XCTAssertEqual(concatenatedSHA(o, "momentum_buffer"), momentumSHA, pt)
        }
    }

    func testStripHelperKeepsOrderAndTensors() throws {
        let c = try TorchReader.read(Fixtures.path("torch/genesis_tiny.pt"))
        let s = TorchCheckpoint.strippingModulePrefix(c.stateDict)
        XCTAssertEqual(s.names, c.stateDict.names.map { String($0.dropFirst("module.".count)) })
        XCTAssertEqual(s.entries.map(\.tensor), c.stateDict.entries.map(\.tensor))
        XCTAssertEqual(TorchCheckpoint.addingModulePrefix(s).names, c.stateDict.names)
    }

    func concatenatedSHA(_ o: TorchOptimizerState, _ name: String) -> String {
        var bytes: [UInt8] = []
        for p in o.state.keys.sorted() { bytes += o.tensor(name, position: p)?.bytes ?? [] }
        return Checksum.sha256Hex(bytes)
    }
}

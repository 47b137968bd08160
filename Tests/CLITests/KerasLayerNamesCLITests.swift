import Foundation
import HDF5
import KerasFormat
import Tensors
import TestSupport
import XCTest

/// Writers keep the Keras layer names of the file they start from. tf_keras auto-names layers
/// from the first of a class without a suffix (`conv3d`, `activation`, `max_pooling3d`,
/// `max_pooling3d_1`, ...) where Keras 2.2.4 counted from 1 (`conv3d_1`, ...); a user's
/// `load_weights(by_name=True)` matches by those names, so a checkpoint that renamed the final
/// conv would silently lose it.
final class KerasLayerNamesCLITests: XCTestCase {
    func genesis(_ args: [String]) throws -> ProcessResult { try runProcess(Fixtures.genesisBinary, args) }

    /// Keras 2.2.4's auto-name -> tf_keras's (`conv3d_1` -> `conv3d`, `max_pooling3d_3` ->
    /// `max_pooling3d_2`); named layers (`depth_0_conv`, `input_1`) unchanged.
    static func tfKerasName(_ name: String) -> String {
        let prefixes = ["conv3d", "activation", "max_pooling3d", "up_sampling3d", "concatenate"]
        guard let underscore = name.lastIndex(of: "_"), prefixes.contains(String(name[..<underscore])),
              let n = Int(name[name.index(after: underscore)...]), n >= 1 else { return name }
        return n == 1 ? String(name[..<underscore]) : "\(name[..<underscore])_\(n - 1)"
    }

    /// keras/genesis_tiny.h5 (tf_keras 2.21 `model.save`, Keras 2.2.4's layer names) with every
    /// auto-named layer under the name tf_keras gives it: the fixture's weights, optimizer slots,
    /// model_config and training_config, one name map applied to layers, weight names,
    /// optimizer entries and the config's strings.
    static func writeTFKerasNamed(to path: String) throws {
        let source = Fixtures.path("keras/genesis_tiny.h5")
        let k = try KerasReader.read(source)
        let root = try H5File.open(source).root()
        func renamedPath(_ s: String) -> String { s.split(separator: "/", omittingEmptySubsequences: false).map { tfKerasName(String($0)) }.joined(separator: "/") }
        // JSON strings of the config: every quoted token that is an auto-name.
        func renamedJSON(_ s: String) -> String {
            s.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
                .map { i, part in i % 2 == 1 ? tfKerasName(String(part)) : String(part) }.joined(separator: "\"")
        }
        let layers = k.layers.map { l in
            KerasLayer(name: tfKerasName(l.name), className: l.className, weights: l.weights.map { KerasWeight(name: renamedPath($0.name), tensor: $0.tensor) })
        }
        let optimizer = k.optimizerWeights.map { KerasWeight(name: renamedPath($0.name), tensor: $0.tensor) }
        let config = try XCTUnwrap(try root.stringAttribute("model_config"))
        let training = try root.stringAttribute("training_config")
        try KerasWriter.writeModel(layers, optimizerWeights: optimizer, modelConfig: renamedJSON(config), trainingConfig: training, to: path,
                                   header: KerasWriter.Header(kerasVersion: k.kerasVersion ?? "2.21.0", backend: k.backend ?? "tensorflow"))
    }

    func layerNames(_ path: String) throws -> [String] { try KerasReader.read(path).layers.map(\.name) }

    func testTrainingAndConvertingKeepTheSourcesLayerNames() throws {
        let dir = Fixtures.scratchDirectory(name)
        let named = dir + "/tfkeras.h5"
        try Self.writeTFKerasNamed(to: named)
        let original = try layerNames(named)
        XCTAssertTrue(original.contains("conv3d") && original.contains("activation") && original.contains("max_pooling3d"), "\(original)")
        XCTAssertFalse(original.contains("conv3d_1"))
        XCTAssertEqual(try genesis(["verify", named]).status, 0)
        XCTAssertEqual(try genesis(["cubes", "--count", "4", "--shape", "16,16,8", "--seed", "2", "--out", dir + "/x.npy"]).status, 0)

        let common = ["--data", dir + "/x.npy", "--batch", "2", "--transforms", "none", "--threads", "1"]
        let run = try genesis(["pretrain", "--init", named, "--steps", "1", "--out", dir + "/run.h5"] + common)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try layerNames(dir + "/run.h5"), original, "pretrain --init")
        let optimizerNames = try KerasReader.read(dir + "/run.h5").optimizerWeights.map(\.name)
        XCTAssertTrue(optimizerNames.contains { $0.contains("conv3d/kernel") }, "\(optimizerNames)")
        XCTAssertFalse(optimizerNames.contains { $0.contains("conv3d_1/") }, "\(optimizerNames)")

        let resumed = try genesis(["pretrain", "--resume", dir + "/run.h5", "--steps", "2", "--out", dir + "/run2.h5"] + common)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try layerNames(dir + "/run2.h5"), original, "pretrain --resume")

        let converted = try genesis(["convert", named, dir + "/converted.h5"])
        XCTAssertEqual(converted.status, 0, converted.stderr)
        XCTAssertEqual(try layerNames(dir + "/converted.h5"), original, "convert")

        // A file with Keras 2.2.4's names keeps them; a fresh network gets the official ones.
        let official = try genesis(["pretrain", "--init", Fixtures.path("keras/genesis_tiny.h5"), "--steps", "1", "--out", dir + "/official.h5"] + common)
        XCTAssertEqual(official.status, 0, official.stderr)
        XCTAssertEqual(try layerNames(dir + "/official.h5"), try layerNames(Fixtures.path("keras/genesis_tiny.h5")))
        XCTAssertEqual(try genesis(["init", "--base-filters", "4", "--seed", "1", "--out", dir + "/fresh.h5"]).status, 0)
        XCTAssertTrue(try layerNames(dir + "/fresh.h5").contains("conv3d_1"))
    }
}

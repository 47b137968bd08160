import Foundation
import HDF5
import Tensors
import ZIPFoundation
import ZipPreflight

/// Keras 3 files: `.weights.h5` (groups `layers/<class key>/vars/<i>`, layer names in the
/// `vars@name` attribute since 3.6) and the `.keras` zip around one.
enum Keras3Reader {
    /// Largest `model.weights.h5` extracted from a `.keras` zip (zip-bomb guard; the member is
    /// also held to 64 MiB + 16x the archive's size, and always to the size its header declares).
    static let maxArchiveMember = 8 << 30
    /// Largest `config.json` and `metadata.json` read from a `.keras` zip.
    static let maxConfigBytes = 64 << 20
    static let maxMetadataBytes = 1 << 20

    static func isKeras3(_ root: H5Group) -> Bool {
        !root.hasAttribute("layer_names") && !root.hasAttribute("layer_names0") && !root.exists("model_weights") && root.exists("layers")
    }

    static func isKerasArchive(_ path: String) -> Bool {
        guard let prefix = try? FileIO.readPrefix(path, count: 4) else { return false }
        return prefix == [0x50, 0x4B, 0x03, 0x04] && path.lowercased().hasSuffix(".keras")
    }

    static func read(root: H5Group, path: String, layout: KerasModelFile.Layout, config: KerasModelConfig?, kerasVersion: String? = nil,
                     locate: Bool = false) throws -> KerasModelFile {
        let layersGroup = try root.group("layers")
        let budget = KerasReader.ReadBudget(path: root.file.path, size: root.file.imageSize)
        // HDF5 lists keys by name; Keras 3 writes them in model.layers order, which the class
        // keys do not encode across classes. Use config.json's order when we have it, else
        // the `vars@name` attribute order is unknown too: fall back to creation-order keys
        // sorted by (class, index), which keeps every class's own order.
        var keys = try layersGroup.memberNames()
        if let config {
            let order = keras3Keys(for: config.layers.map(\.className))
            let rank = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
            keys.sort { (rank[$0] ?? Int.max, $0) < (rank[$1] ?? Int.max, $1) }
        } else {
            keys.sort { classOrderKey($0) < classOrderKey($1) }
        }
        var layers: [KerasLayer] = []
        for key in keys {
            let g = try layersGroup.group(key)
            var weights: [KerasWeight] = []
            var name = key
            if g.exists("vars") {
                let vars = try g.group("vars")
                if let n = try vars.stringAttribute("name") { name = n }
                for v in try numericallySorted(vars.memberNames()) {
                    try budget.take(try vars.datasetInfo(v), "layers/\(key)/vars/\(v)")
                    weights.append(try KerasReader.weight(v, in: vars, locate: locate))
                }
            }
            layers.append(KerasLayer(name: name, className: key, weights: weights))
        }
        var optimizerWeights: [KerasWeight] = []
        if root.exists("optimizer/vars") {
            let vars = try root.group("optimizer/vars")
            for v in try numericallySorted(vars.memberNames()) {
                try budget.take(try vars.datasetInfo(v), "optimizer/vars/\(v)")
                optimizerWeights.append(try KerasReader.weight(v, in: vars, locate: locate))
            }
        }
        return KerasModelFile(path: path, layout: layout, kerasVersion: kerasVersion, backend: nil, layers: layers,
                              optimizerWeights: optimizerWeights, config: config, optimizer: nil)
    }

    /// Reads a `.keras` zip: `config.json`, `metadata.json` and `model.weights.h5` (inflated into
    /// memory and opened there); every member stops at its declared size and at a cap.
    static func readArchive(_ path: String) throws -> KerasModelFile {
        let archive: Archive
        do { archive = try ZipPreflight.open(path) } catch {
            throw KerasError.notKeras(file: path, reason: "\(error)")
        }
        func entry(_ name: String) throws -> Entry {
            guard let e = archive[name] else { throw KerasError.malformed(file: path, location: name, reason: "missing from the archive") }
            return e
        }
        let configJSON = String(decoding: try KerasArchiveMember.bytes(archive, entry("config.json"), cap: maxConfigBytes, file: path), as: UTF8.self)
        let config = try KerasConfigParser.modelConfig(configJSON, file: path + ": config.json")
        var version: String?
        if let metaEntry = archive["metadata.json"],
           let meta = try? JSONSerialization.jsonObject(with: KerasArchiveMember.bytes(archive, metaEntry, cap: maxMetadataBytes, file: path)) as? [String: Any] {
            version = meta["keras_version"] as? String
        }
        // Keras stores the weights uncompressed: a member far larger than its archive is a bomb.
        let archiveBytes = (try? FileIO.size(of: path)) ?? 0
        let weightsCap = min(maxArchiveMember, (64 << 20) + archiveBytes.multipliedReportingOverflow(by: 16).partialValue)
        let weights = try KerasArchiveMember.bytes(archive, entry("model.weights.h5"), cap: weightsCap, file: path)
        // Opened in memory (libhdf5's core driver): nothing goes to disk, so the reader also runs
        // where it may write nothing (the HDF5 sandbox).
        let file = try H5File.open(image: weights, name: "\(path): model.weights.h5")
        let root = try file.root()
        let m = try read(root: root, path: path, layout: .keras3Archive, config: config, kerasVersion: version)
        return m
    }

    /// Keras 3 group keys for a list of layer classes: `to_snake_case(Class)` + `_k` for repeats.
    static func keras3Keys(for classes: [String]) -> [String] {
        var seen: [String: Int] = [:]
        return classes.map { cls in
            let base = snakeCase(cls)
            let k = seen[base, default: 0]
            seen[base] = k + 1
            return k == 0 ? base : "\(base)_\(k)"
        }
    }

    /// Keras 3 `to_snake_case` (`keras/src/utils/naming.py`): `BatchNormalization` ->
    /// `batch_normalization`, `Conv3D` -> `conv3d`, `Conv3DTranspose` -> `conv3d_transpose`.
    static func snakeCase(_ name: String) -> String {
        func sub(_ s: String, _ pattern: String, _ template: String) -> String {
            let re = try! NSRegularExpression(pattern: pattern)
            return re.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: template)
        }
        var s = sub(name, "\\W+", "")
        s = sub(s, "(.)([A-Z][a-z]+)", "$1_$2")
        s = sub(s, "([a-z])([A-Z])", "$1_$2")
        return s.lowercased()
    }

    static func numericallySorted(_ names: [String]) -> [String] {
        names.sorted { (Int($0) ?? Int.max, $0) < (Int($1) ?? Int.max, $1) }
    }

    /// `conv3d_12` -> ("conv3d", 12); `conv3d` -> ("conv3d", 0).
    static func classOrderKey(_ key: String) -> String {
        if let u = key.lastIndex(of: "_"), let n = Int(key[key.index(after: u)...]) {
            return String(key[..<u]) + String(format: "#%08d", n)
        }
        return key + "#00000000"
    }
}

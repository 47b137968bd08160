import HDF5
import Tensors

/// Reads Keras HDF5 weight files: Keras 2 full saves and `save_weights` files (any Keras 2
/// generation and h5py version), and Keras 3 `.weights.h5` / `.keras`.
public enum KerasReader {
    /// Reads any Keras weights file, picking the layout from the file's structure.
    public static func read(_ path: String) throws -> KerasModelFile {
        if Keras3Reader.isKerasArchive(path) { return try Keras3Reader.readArchive(path) }
        let file = try H5File.open(path)
        let root = try file.root()
        if Keras3Reader.isKeras3(root) { return try Keras3Reader.read(root: root, path: path, layout: .keras3Weights, config: nil) }
        return try readKeras2(root: root, path: path)
    }

    /// Reads `path` as a `.keras` archive (`archive`) or as Keras HDF5, whatever its name says:
    /// for the sandboxed reader, which opens a descriptor's `/proc/self/fd/N`. With
    /// `locateData`, a weight whose bytes lie in the file as they are is located, not read
    /// (`KerasWeight.located`; never inside an archive, whose HDF5 file is inflated in memory).
    public static func read(_ path: String, asArchive archive: Bool, locateData: Bool = false) throws -> KerasModelFile {
        if archive { return try Keras3Reader.readArchive(path) }
        let file = try H5File.open(path)
        let root = try file.root()
        if Keras3Reader.isKeras3(root) {
            return try Keras3Reader.read(root: root, path: path, layout: .keras3Weights, config: nil, locate: locateData)
        }
        return try readKeras2(root: root, path: path, locate: locateData)
    }

    /// One weight: read whole, or with `locate` located when the file holds its bytes as they are.
    static func weight(_ name: String, in g: H5Group, locate: Bool) throws -> KerasWeight {
        if locate, let (info, extent) = try g.contiguousExtent(name) {
            return KerasWeight(name: name, located: LocatedTensor(dtype: info.dtype, shape: info.shape, extent: extent))
        }
        return KerasWeight(name: name, tensor: try g.readTensor(name))
    }

    static func readKeras2(root: H5Group, path: String, locate: Bool = false) throws -> KerasModelFile {
        let hasLayerNames = root.hasAttribute("layer_names") || root.hasAttribute("layer_names0")
        let weightsGroup: H5Group
        let layout: KerasModelFile.Layout
        if hasLayerNames {
            weightsGroup = root
            layout = .weightsOnly
        } else if root.exists("model_weights") {
            weightsGroup = try root.group("model_weights")
            layout = .fullSave
        } else {
            throw KerasError.notKeras(file: path, reason: "no layer_names attribute and no model_weights group")
        }

        let kerasVersion = try root.stringAttribute("keras_version") ?? weightsGroup.stringAttribute("keras_version")
        let backend = try root.stringAttribute("backend") ?? weightsGroup.stringAttribute("backend")
        var config: KerasModelConfig?
        if let json = try root.stringAttribute("model_config") {
            config = try KerasConfigParser.modelConfig(json, file: path)
        }
        let optimizer = try root.stringAttribute("training_config").flatMap(KerasConfigParser.optimizer(trainingConfig:))

        let layerNames = try weightsGroup.stringListAttribute("layer_names")
        let budget = ReadBudget(path: path)
        var layers: [KerasLayer] = []
        layers.reserveCapacity(layerNames.count)
        for name in layerNames {
            guard weightsGroup.exists(name) else {
                throw KerasError.malformed(file: path, location: "layer \(name)", reason: "listed in layer_names but its group is missing")
            }
            let g = try weightsGroup.group(name)
            let weights = try readWeights(in: g, path: path, owner: "layer \(name)", budget: budget, locate: locate)
            layers.append(KerasLayer(name: name, className: config?.className(of: name), weights: weights))
        }

        var optimizerWeights: [KerasWeight] = []
        if root.exists("optimizer_weights") {
            optimizerWeights = try readWeights(in: try root.group("optimizer_weights"), path: path, owner: "optimizer_weights", budget: budget, locate: locate)
        }
        var extraLayers: [KerasLayer] = []
        if root.exists(KerasWriter.Header.extraLayersGroup) {
            let g = try root.group(KerasWriter.Header.extraLayersGroup)
            let owner = KerasWriter.Header.extraLayersGroup
            let names = try g.stringListAttribute("layer_names")
            let classes = g.hasAttribute("layer_classes") ? try g.stringListAttribute("layer_classes") : []
            for (i, name) in names.enumerated() {
                guard g.exists(name) else {
                    throw KerasError.malformed(file: path, location: "\(owner)/\(name)", reason: "listed in layer_names but its group is missing")
                }
                let weights = try readWeights(in: try g.group(name), path: path, owner: "\(owner)/\(name)", budget: budget, locate: locate)
                extraLayers.append(KerasLayer(name: name, className: i < classes.count && !classes[i].isEmpty ? classes[i] : nil, weights: weights))
            }
        }
        let writer = try root.stringAttribute(KerasWriter.Header.writerAttribute)
        var file = KerasModelFile(path: path, layout: layout, kerasVersion: kerasVersion, backend: backend, layers: layers,
                                  optimizerWeights: optimizerWeights, config: config, optimizer: optimizer, writer: writer)
        file.extraLayers = extraLayers
        for name in try root.attributeNames() where name.hasPrefix("genesis_") && name != KerasWriter.Header.writerAttribute {
            if let v = try? root.stringAttribute(name) { file.annotations[name] = v }
        }
        return file
    }

    /// The datasets a group's `weight_names` lists, opened by the listed path exactly.
    /// What one file may make us allocate: 8x its size (+64 MiB). Keras stores weights
    /// uncompressed; a compressed dataset, or a layer listed many times, could otherwise claim
    /// gigabytes from a small file.
    final class ReadBudget {
        let path: String
        let cap: Int
        var used = 0
        init(path: String, size known: Int? = nil) {
            self.path = path
            let size = known ?? (try? FileIO.size(of: path)) ?? 0
            cap = (64 << 20) + size.multipliedReportingOverflow(by: 8).partialValue
        }
        func take(_ info: H5Group.DatasetInfo, _ location: String) throws {
            let bytes = try Limits.byteCount(info.shape, info.dtype, what: location)
            used += bytes
            guard used <= cap else {
                throw KerasError.malformed(file: path, location: location, reason: "the tensors declare \(used) bytes, more than 8x the file's size allows (\(cap))")
            }
        }
    }

    static func readWeights(in g: H5Group, path: String, owner: String, budget: ReadBudget? = nil, locate: Bool = false) throws -> [KerasWeight] {
        let names = try g.stringListAttribute("weight_names")
        return try names.map { w in
            guard g.exists(w) else {
                throw KerasError.malformed(file: path, location: "\(owner), weight \(w)", reason: "listed in weight_names but the dataset is missing")
            }
            do {
                if let budget { try budget.take(try g.datasetInfo(w), "\(owner), weight \(w)") }
                return try weight(w, in: g, locate: locate)
            } catch let e as HDF5Error {
                throw KerasError.malformed(file: path, location: "\(owner), weight \(w)", reason: e.operation + (e.detail.isEmpty ? "" : " (\(e.detail))"))
            }
        }
    }
}

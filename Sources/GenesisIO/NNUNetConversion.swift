import Foundation
import GenesisModel
import NativeCheckpoint
import SafeTensors
import Tensors
import TorchFormat

/// Converts an nnU-Net Genesis network (`NNUNetArchitecture`) between its file layouts: the v1
/// `Generic_UNet` checkpoint (`.model`/`.pt`/`.pth`, `{'epoch', 'state_dict',
/// 'optimizer_state_dict'}`), nnU-Net v2's checkpoint (`--naming nnunetv2`: `network_weights`
/// holding `PlainConvUNet.state_dict()`, aliases and zero v2-only biases included),
/// safetensors (v1 or v2 names) and `.genesis` (v1 names, variant `nnunet`). Like `Converter`:
/// verifies the source, writes beside the target, reads the output back and compares every
/// tensor, and moves it into place on `commit()`.
public enum NNUNetConversion {
    /// What nnU-Net v2's `nnUNetTrainer.save_checkpoint` writes besides `network_weights` that is
    /// written here, with the value written (the rest, `optimizer_state`, `logging` and
    /// `init_args`, needs the v2 trainer's own state: `NNUNetConversion.omittedV2Keys`).
    public static let v2TrainerName = "nnUNetTrainer"
    public static let omittedV2Keys = ["optimizer_state", "logging", "init_args"]

    public struct Result: Sendable {
        public let source: LoadedModel
        public let architecture: NNUNetArchitecture
        /// What was meant to be written, under the names it was written with.
        public let written: TensorStore
        /// The v1 tensors, which the read-back must give bit for bit.
        public let v1: TensorStore
        public let output: String
        public let format: FormatKind
        public let naming: Naming
        public let notes: [String]
        /// Nonzero v2-only biases dropped under --allow-lossy.
        public let droppedNonzero: [String]
        public let optimizerWritten: OptimizerState?
        public let reread: TensorDiff
        public let rereadModel: LoadedModel
        public let staged: String
        let target: String

        public func commit() throws {
            guard rename(staged, target) == 0 else {
                let reason = String(cString: strerror(errno))
                FileIO.removeTemporary(staged)
                throw GenesisIOError.cannotWrite(file: output, reason: reason)
            }
            FileIO.renamedTemporary(staged)
            FileIO.syncDirectory(of: target)
        }

        public func discard() { FileIO.removeTemporary(staged) }
    }

    public static func convert(_ source: LoadedModel, to output: String, format: FormatKind, options: WriteOptions = WriteOptions(),
                               allowLossy: Bool = false, staged stageOnly: Bool = false) throws -> Result {
        if FileIdentity.same(source.path, output) { throw GenesisIOError.sameFile(input: source.path, output: output) }
        guard let arch = source.recognised?.architecture as? NNUNetArchitecture else {
            return try { throw GenesisIOError.notGenesis(file: source.path, reason: "not an nnU-Net Genesis network") }()
        }
        let problems = arch.verify(source.mapped).filter { $0.kind != .unexpected }
        guard problems.isEmpty else { throw Converter.Failure.invalidSource(file: source.path, problems: problems) }
        let v2 = options.naming == .nnunetv2
        if options.naming == .keras2 || options.naming == .keras3 {
            throw GenesisIOError.cannotWrite(file: output, reason: "the nnU-Net Genesis network has no Keras names; --naming takes canonical, torch or nnunetv2 for it")
        }
        if v2, format == .native {
            throw GenesisIOError.cannotWrite(file: output, reason: ".genesis files hold nnU-Net Genesis under its v1 names; --naming nnunetv2 takes .pt/.pth or .safetensors")
        }
        if v2, format == .onnx {
            throw GenesisIOError.cannotWrite(file: output, reason: "ONNX graphs hold nnU-Net Genesis under its v1 names; --naming nnunetv2 takes .pt/.pth or .safetensors")
        }
        if v2, !NNUNetV2Names.holds(arch) {
            throw GenesisIOError.cannotWrite(file: output, reason: "with \(arch.convsPerStage) convolution per stage Generic_UNet's bottleneck and decoder stages still have 2, which no PlainConvUNet has; write v1 names")
        }
        let nonzero = NNUNetArchitecture.nonzeroV2Only(source.mapped)
        if !nonzero.isEmpty, !allowLossy { throw VariantConversion.Failure.nonzeroV2Biases(tensors: nonzero) }

        var notes = ["read \(source.formatDescription): \(arch)" + (source.mapped.nnunetV2 ? " (nnU-Net v2 PlainConvUNet names)" : "")]
        if !source.mapped.unexpected.isEmpty { notes.append("left out \(source.mapped.unexpected.count) tensors that are not part of the network") }
        if !nonzero.isEmpty { notes.append("dropped \(nonzero.count) nonzero v2-only biases (\(nonzero.prefix(3).joined(separator: ", "))): v1 has none (--allow-lossy)") }
        var v1 = TensorStore()
        for p in arch.network.parameters { if let t = source.mapped.store[p.name] { v1[p.name] = t } }

        var optimizer = source.optimizer
        if optimizer != nil, !options.includeOptimizer { optimizer = nil; notes.append("optimizer state left out (--no-optimizer)") }
        if optimizer != nil, format == .safetensors || format == .onnx {
            optimizer = nil
            notes.append("optimizer state not written: this \(format.rawValue) layout holds weights only")
        }
        if optimizer != nil, v2, format == .torch {
            optimizer = nil
            notes.append("optimizer state not written: nnU-Net v2's optimizer_state belongs to its trainer (SGD over PlainConvUNet's parameters)")
        }
        if let o = optimizer, o.convention != .torch { optimizer = nil; notes.append("optimizer state dropped: not in PyTorch's convention") }
        let written = v2 ? NNUNetV2Names.v2StateDict(v1, arch) : v1
        if v2 { notes.append("named as nnU-Net v2's PlainConvUNet: \(written.count) keys (aliases included), \(arch.pools.count * 2) v2-only biases zero") }
        if v2, format == .torch {
            notes.append("nnU-Net v2 checkpoint: network_weights, current_epoch, _best_ema None, grad_scaler_state None, trainer_name \(v2TrainerName), inference_allowed_mirroring_axes (0, 1, 2); left out: \(omittedV2Keys.joined(separator: ", ")) (the v2 trainer's own state)")
        }

        let target = try FileIO.resolvedOutput(output)
        let staged = FileIO.temporaryPath(beside: target)
        do {
            try write(written, arch: arch, optimizer: optimizer, source: source, v2: v2, to: staged, format: format, options: options, notes: notes)
            let back = try ModelLoader.load(staged, format: format, verifyChecksums: false, hdf5: .inProcess(.writtenByThisProcess))
            let diff = TensorDiff.compare(v1, back.mapped.store)
            let changed = diff.entries.filter { !$0.bitIdentical }.map(\.name)
            let v2Problems = back.mapped.foldProblems.map(\.tensor) + NNUNetArchitecture.nonzeroV2Only(back.mapped)
            guard back.recognised?.architecture as? NNUNetArchitecture == arch, changed.isEmpty, diff.onlyInA.isEmpty, v2Problems.isEmpty,
                  back.mapped.nnunetV2 == v2 else {
                throw Converter.Failure.rereadMismatch(file: output, detail: "network \(back.recognised.map { "\($0.architecture)" } ?? "not recognised"), changed: \(changed.prefix(3)), missing: \(diff.onlyInA.prefix(3)), aliases or v2 biases: \(v2Problems.prefix(3))")
            }
            let r = Result(source: source, architecture: arch, written: written, v1: v1, output: output, format: format, naming: options.naming, notes: notes,
                           droppedNonzero: nonzero, optimizerWritten: optimizer, reread: diff, rereadModel: back, staged: staged, target: target)
            if !stageOnly { try r.commit() }
            return r
        } catch {
            FileIO.removeTemporary(staged)
            throw error
        }
    }

    static func write(_ weights: TensorStore, arch: NNUNetArchitecture, optimizer: OptimizerState?, source: LoadedModel, v2: Bool,
                      to path: String, format: FormatKind, options: WriteOptions, notes: [String]) throws {
        let trainable = arch.network.parameters.filter(\.trainable).map(\.name)
        switch format {
        case .torch:
            let writer = TorchNamedValue(GenesisWriter.key, .string(GenesisWriter.name))
            let annotations = source.annotations.sorted { $0.key < $1.key }.map { TorchNamedValue($0.key, .string($0.value)) }
            let checkpoint: TorchCheckpoint
            if v2 {
                // nnUNetTrainer.save_checkpoint's keys a loader reads (load_checkpoint, the predictor).
                let extras = [TorchNamedValue("current_epoch", .int(Int64(source.epoch ?? 0))), TorchNamedValue("_best_ema", .none),
                              TorchNamedValue("grad_scaler_state", .none), TorchNamedValue("trainer_name", .string(v2TrainerName)),
                              TorchNamedValue("inference_allowed_mirroring_axes", .tuple([.int(0), .int(1), .int(2)])), writer]
                checkpoint = TorchCheckpoint(stateDict: weights, stateDictKey: "network_weights", extras: extras + annotations)
            } else {
                // The official `{'epoch', 'state_dict', 'optimizer_state_dict'}` of Genesis_nnUNet.py.
                checkpoint = TorchCheckpoint(epoch: source.epoch, stateDict: weights, optimizer: optimizer.map { TorchBridge.optimizer($0, parameters: trainable) },
                                             stateDictKey: "state_dict", extras: [writer] + annotations)
            }
            try TorchWriter.write(checkpoint, to: path, modulePrefix: options.modulePrefix)
        case .safetensors:
            let prefix = options.modulePrefix ? NameMaps.dataParallelPrefix : ""
            let store = weights.renamed { prefix + $0 }
            var metadata = ["format": "pt", "genesis_family": arch.family.rawValue, "genesis_variant": arch.variantName,
                            "genesis_naming": v2 ? Naming.nnunetv2.rawValue : Naming.torch.rawValue, GenesisWriter.key: GenesisWriter.name]
            for (k, v) in source.annotations { metadata[k] = v }
            try SafeTensors.write(store, metadata: metadata, to: path)
        case .native:
            let info = ArchitectureInfo(variant: arch.variantName, baseWidth: arch.baseFilters, labels: arch.labels,
                                        inputShape: source.inputShape ?? [arch.inputChannels] + arch.spatialMultiples.map { 2 * $0 },
                                        bnEpsilon: 1e-5, bnMomentum: 0.1, bnMomentumConvention: "torch")
            let prov = Provenance(sourceFile: URL(fileURLWithPath: source.path).lastPathComponent, sourceSHA256: (try? Checksum.sha256Hex(fileAt: source.path)),
                                  sourceFormat: source.format.rawValue, sourceFormatVersion: source.versions["torch_format"] ?? source.versions["format_version"],
                                  conversion: notes, createdBy: GenesisWriter.name)
            let (slots, training) = NativeBridge.training(optimizer, epoch: source.epoch, order: trainable, weights: weights)
            var metadata = NativeMetadata(architecture: info, provenance: prov, training: training)
            metadata.annotations = source.annotations.isEmpty ? nil : source.annotations
            try NativeCheckpoint(weights: weights, optimizerSlots: slots, metadata: metadata).write(to: path)
        case .onnx:
            let bn = options.onnxBatchNorm ?? .inference
            let meta = ONNXExport.metadata(network: arch, classes: nil, bn: bn, bnEpsilon: 1e-5, sourceSHA256: try? Checksum.sha256Hex(fileAt: source.path),
                                           sourceFile: URL(fileURLWithPath: source.path).lastPathComponent, sourceFormat: source.format.rawValue,
                                           annotations: source.annotations)
            try ONNXBridge.write(network: arch.network, weights: weights, bn: bn, bnEpsilon: 1e-5, options: options, graphName: "nnunet_genesis",
                                 metadata: meta, to: path)
        default:
            throw GenesisIOError.cannotWrite(file: path, reason: "the nnU-Net Genesis network is written as PyTorch (.pt, .pth, .model with --format pt), .safetensors, .genesis or .onnx, not \(format.rawValue)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

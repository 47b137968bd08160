import Dispatch
import GenesisModel
import HDF5Sandbox
import Tensors

/// Converts a loaded model into another format: verifies the source, moves it to the variant the
/// target holds, converts optimizer state to the target's convention, writes atomically, reads
/// the output back and compares every tensor.
public enum Converter {
    /// The annotation naming the format the weights came from (`keras-h5`, `pt`, ...).
    public static let sourceFormatKey = "genesis_source_format"

    /// Wall time between marks.
    struct PhaseClock {
        private var last = DispatchTime.now().uptimeNanoseconds
        private(set) var phases: [(name: String, seconds: Double)] = []
        mutating func mark(_ name: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            phases.append((name, Double(now - last) / 1e9))
            last = now
        }
    }

    public struct Result: Sendable {
        public let source: LoadedModel
        public let written: ModelPayload
        public let output: String
        public let format: FormatKind
        /// What the conversion did, in words (also stored as provenance where the format can).
        public let notes: [String]
        /// Non-identity up-convolutions dropped under --allow-lossy.
        public let droppedNonIdentity: [String]
        /// The output read back, against what was meant to be written.
        public let reread: TensorDiff
        public let rereadModel: LoadedModel
        /// Where the output waits, checked, until `commit()`.
        public let staged: String
        /// The file the output lands in: `output`, or a symlink's target (`FileIO.resolvedOutput`).
        let target: String
        /// Seconds per phase (verify, variant, write, read back, compare), in order.
        public var phases: [(name: String, seconds: Double)] = []

        init(source: LoadedModel, written: ModelPayload, output: String, staged: String, target: String, format: FormatKind, notes: [String],
             droppedNonIdentity: [String], reread: TensorDiff, rereadModel: LoadedModel) {
            self.source = source
            self.written = written
            self.output = output
            self.staged = staged
            self.target = target
            self.format = format
            self.notes = notes
            self.droppedNonIdentity = droppedNonIdentity
            self.reread = reread
            self.rereadModel = rereadModel
        }

        /// Moves the checked output onto the target (atomic rename).
        public func commit() throws {
            guard rename(staged, target) == 0 else {
                let reason = String(cString: strerror(errno))
                FileIO.removeTemporary(staged)
                throw GenesisIOError.cannotWrite(file: output, reason: reason)
            }
            FileIO.renamedTemporary(staged)
            FileIO.syncDirectory(of: target)
        }

        /// Removes the staged output (a later check failed).
        public func discard() { FileIO.removeTemporary(staged) }
    }

    public enum Failure: Error, CustomStringConvertible {
        case invalidSource(file: String, problems: [Problem])
        case rereadMismatch(file: String, detail: String)

        public var description: String {
            switch self {
            case let .invalidSource(f, p):
                return "\(f): \(p.count) problem\(p.count == 1 ? "" : "s") (first: \(p[0].message)); run `genesis verify \(f)` for all"
            case let .rereadMismatch(f, d): return "\(f): the written file does not read back as written: \(d)"
            }
        }
    }

    /// `staged`: leave the checked output beside the target for the caller to `commit()` (or
    /// `discard()`) after checks of its own; otherwise it is moved into place before returning.
    public static func convert(_ source: LoadedModel, to output: String, format: FormatKind, options: WriteOptions = WriteOptions(),
                               allowLossy: Bool = false, staged stageOnly: Bool = false) throws -> Result {
        // Writing onto the input itself (same file under another name, a symlink or a hard
        // link) would replace what is being converted: refused before anything is read.
        if FileIdentity.same(source.path, output) { throw GenesisIOError.sameFile(input: source.path, output: output) }
        if options.naming == .nnunetv2, source.detected != nil {
            throw GenesisIOError.cannotWrite(file: output, reason: "--naming nnunetv2 names the nnU-Net Genesis network's tensors; \(source.path) holds the Models Genesis U-Net")
        }
        var clock = PhaseClock()
        var payload = try source.payload(digest: [.native, .onnx, .monaiBundle].contains(format))
        clock.mark("source digest")
        let problems = source.problems(payload.architecture).filter { $0.kind != .unexpected }
        guard problems.isEmpty else { throw Failure.invalidSource(file: source.path, problems: problems) }
        clock.mark("verify source")
        var notes: [String] = ["read \(source.formatDescription): \(payload.architecture)"]
        let siblingHead = try Self.siblingHead(source, output: output, format: format, options: options, notes: &notes)
        if !source.mapped.unexpected.isEmpty {
            notes.append("left out \(source.mapped.unexpected.count) tensors that are not part of the network")
        }

        let targetVariant = ModelWriter.variant(for: format, source: payload.architecture.variant)
        let v = try VariantConversion.convert(payload.weights, from: payload.architecture, to: targetVariant, allowLossy: allowLossy)
        notes += v.notes
        if let eps = VariantConversion.epsilonNote(from: payload.architecture.variant, to: targetVariant) { notes.append(eps) }
        payload.weights = v.store
        // A fine-tuned classifier's head travels with the network (every writer keeps it).
        for (name, t) in source.head.entries { payload.weights[name] = t }
        if !source.head.isEmpty { notes.append("kept the classification head (\(source.head.count) tensors)") }
        // A sibling's head, after the trunk (its `state_dict` order), under its layout's names.
        for (name, t) in siblingHead.entries { payload.weights[name] = t }
        payload.architecture = v.architecture

        if let o = payload.optimizer {
            let bridge = FormatRegistry.bridge(format)
            let target = bridge.optimizerConvention ?? o.convention
            if !options.includeOptimizer {
                payload.optimizer = nil
                notes.append("optimizer state left out (--no-optimizer)")
            } else if !bridge.carriesOptimizer(options) {
                payload.optimizer = nil
                notes.append("optimizer state not written: this \(format.rawValue) layout holds weights only" + (format == .kerasH5 ? " (--weights-only)" : ""))
            } else if let c = o.converted(to: target) {
                payload.optimizer = c.state
                notes.append(c.note)
            } else {
                payload.optimizer = nil
                notes.append("optimizer state dropped: SGD momentum cannot change convention without a learning rate")
            }
        }
        payload.provenance?.actions = notes
        // Where the weights were trained, for `run`'s note when the target's framework runs them
        // with other BatchNorm conventions (kept through a chain of conversions).
        if payload.annotations[Self.sourceFormatKey] == nil { payload.annotations[Self.sourceFormatKey] = source.format.rawValue }
        clock.mark("variant and optimizer")

        // Written and checked beside the target; `Result.commit()` moves it into place, so a
        // failed check (here or the caller's forward proof) never replaces the target.
        let target = try FileIO.resolvedOutput(output)
        let staged = FileIO.temporaryPath(beside: target)
        do {
            try ModelWriter.write(payload, to: staged, format: format, options: options)
            clock.mark("write")
            // Every tensor byte is compared below, which proves more than the container's own
            // CRC-32 / SHA-256 of the same bytes: those are skipped on this read. The file is
            // ours, just written: libhdf5 reads it in this process (no sandbox).
            let back = try ModelLoader.load(staged, format: format, verifyChecksums: false, hdf5: .inProcess(.writtenByThisProcess))
            clock.mark("read back")
            var backStore = back.mapped.store
            for (name, t) in back.head.entries { backStore[name] = t }
            for (name, t) in back.sibling?.tensors.entries ?? [] { backStore[name] = t }
            let diff = TensorDiff.compare(payload.weights, backStore)
            let changed = diff.entries.filter { !$0.bitIdentical }.map(\.name)
            clock.mark("compare")
            guard changed.isEmpty, diff.onlyInA.isEmpty else {
                throw Failure.rereadMismatch(file: output, detail: "changed: \(changed.prefix(3)), missing: \(diff.onlyInA.prefix(3))")
            }
            var result = Result(source: source, written: payload, output: output, staged: staged, target: target, format: format, notes: notes,
                                droppedNonIdentity: v.droppedNonIdentity, reread: diff, rereadModel: back)
            result.phases = clock.phases
            if !stageOnly { try result.commit() }
            return result
        } catch {
            FileIO.removeTemporary(staged)
            throw error
        }
    }
}

extension Converter {
    /// Formats (and namings) whose files hold a sibling's head beside the trunk: flat name ->
    /// tensor containers. Keras files are the Genesis `unet_model_3d`'s layers and model_config;
    /// `.genesis` names may not hold the `/` of a Keras head's `layer/weight` names.
    static func holdsSiblingHead(_ format: FormatKind, _ options: WriteOptions, _ layout: SiblingLayout) -> Bool {
        switch format {
        case .torch: return true
        case .native: return !layout.keras
        case .safetensors: return options.naming == .canonical || options.naming == .torch
        default: return false
        }
    }

    /// The sibling head to write (empty for `--trunk-only` and files that are no sibling), with
    /// notes; throws when the target cannot hold what the source is (one line, exit 2).
    static func siblingHead(_ source: LoadedModel, output: String, format: FormatKind, options: WriteOptions, notes: inout [String]) throws -> TensorStore {
        guard let s = source.sibling else {
            if options.trunkOnly { notes.append("--trunk-only: the file is no sibling's (no head to drop)") }
            return TensorStore()
        }
        if !s.layout.trunkHasOutput, KerasBridge.kerasKinds.contains(format) {
            throw GenesisIOError.cannotWrite(file: output, reason: "the \(s.networkTitle) trunk has no output layer (out_tr), which a Keras unet_model_3d file needs; write .pt, .safetensors or .genesis")
        }
        let what = "the \(s.networkTitle) head (\(s.layout.title), \(s.tensors.count) tensors)"
        if options.trunkOnly {
            notes.append("dropped \(what): --trunk-only writes the Genesis trunk alone")
            return TensorStore()
        }
        guard holdsSiblingHead(format, options, s.layout) else {
            let naming = format == .safetensors ? " with --naming \(options.naming.rawValue)" : format == .native ? " (its names hold no '/', the Keras head's layer/weight names do)" : ""
            let keep = s.layout.keras ? ".pt or .safetensors" : ".pt, .safetensors or .genesis"
            throw GenesisIOError.cannotWrite(file: output, reason: "\(format.rawValue)\(naming) cannot hold \(what) beside the Genesis network; add --trunk-only to write the trunk alone, or write \(keep), which keep it")
        }
        let layout = s.layout.keras ? " (Keras layout, names layer/weight)" : ""
        notes.append("kept \(what) under its \(s.layout.id) names\(layout)")
        return s.tensors
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

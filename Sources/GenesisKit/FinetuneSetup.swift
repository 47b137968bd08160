import Foundation
import GenesisIO
import GenesisModel
import Runtime3D
import Tensors
import Training

/// What fine-tuning trains the network for: a segmentation (the U-Net with a K-label head) or
/// a classification (the encoder with a dense head).
public enum FinetuneTask: String, CaseIterable, Sendable { case segmentation, classification }

/// The model `finetune` trains, built from the initial model (heads kept or made new, with the
/// loading report) or from a finetune checkpoint.
public struct FinetuneSetup {
    public enum Model {
        case segmentation(Trainer)
        case classification(ClassificationTrainer)
    }

    public let model: Model
    public let framework: Framework
    public let learningRate: Double
    public let report: FinetuneSupport.LoadingReport
    public let notes: [String]
    public let modulePrefix: Bool
    /// The source's Keras layer names (`LoadedModel.kerasLayerNames`), kept by Keras checkpoints.
    public let kerasLayerNames: [String: String]
    /// The loss trained with (given, else the task's or the network family's default).
    public let loss: Loss
    /// The schedule when the run names none (the network family's; `none` for the Genesis U-Net).
    public let schedule: TrainingSettings.ScheduleKind

    public static func make(task: FinetuneTask, classes k: Int, initial: String?,
                     resumed: (loaded: LoadedModel, optimizer: Optimizer, run: RunState)?, options: TrainingSettings,
                     freezeEncoder: Bool, loss: Loss?, threads: Int, loaded given: LoadedModel? = nil) throws -> FinetuneSetup {
        let loaded = try given ?? resumed?.loaded ?? ModelLoader.load(initial!)
        let network = try loaded.networkArchitecture()
        guard let source = network as? Architecture else {
            return try makeFamily(network: network, loaded: loaded, task: task, classes: k, resumed: resumed, options: options,
                                  freezeEncoder: freezeEncoder, loss: loss, threads: threads)
        }
        let loss = loss ?? (task == .segmentation ? .dice : (k == 1 ? .bce : .ce))
        if resumed == nil {
            let problems = loaded.problems(source).filter { $0.kind != .unexpected }
            guard problems.isEmpty else { throw Converter.Failure.invalidSource(file: loaded.path, problems: problems) }
        }
        let framework = resumed?.run.framework ?? Framework(source.variant)
        var weights = loaded.mapped.store
        var report = FinetuneSupport.LoadingReport()
        var rng = SeededGenerator(seed: options.seed ^ 0x4EAD)
        let arch = task == .segmentation ? Architecture(variant: source.variant, baseFilters: source.baseFilters, labels: k) : source
        let encoder = Set(source.tensors.filter { ($0.block ?? 99) < 8 }.map(\.name))

        // A sibling's trunk without the output layer (SuPreM) gets a new one whatever the labels.
        let newOutput = task == .segmentation && (source.labels != k || !loaded.hasOutputLayer)
        if resumed != nil {
            for (n, t) in FinetuneSupport.headTensors(loaded).entries { weights[n] = t }
            report.loaded = weights.names
        } else {
            for spec in source.tensors where weights[spec.name] != nil {
                let inHead = spec.block == 14
                if inHead, newOutput {
                    report.skipped.append((loaded.mapped.sourceNames[spec.name] ?? spec.name, "the model's 1x1x1 head has \(source.labels) label(s), the task \(k)"))
                    weights[spec.name] = nil
                } else if task == .classification, !encoder.contains(spec.name) {
                    report.skipped.append((loaded.mapped.sourceNames[spec.name] ?? spec.name,
                                           "decoder and 1x1x1 head: not part of the classifier, kept in the checkpoint unchanged"))
                } else {
                    report.loaded.append(spec.name)
                }
            }
            for (name, _) in loaded.mapped.unexpected { report.skipped.append((name, "not part of the Genesis network")) }
            if let s = loaded.sibling {
                for name in s.tensors.names {
                    report.skipped.append((s.sourceNames[name] ?? name, "the \(s.networkTitle) head (\(s.layout.id)): not part of the Genesis network, not trained"))
                }
            }
            if newOutput {
                let c = arch.finalConv
                weights[Layout.finalModule + ".weight"] = FinetuneSupport.initialise([k, c.inChannels, 1, 1, 1], bias: false, fanIn: c.inChannels, fanOut: k, framework: framework, rng: &rng)
                weights[Layout.finalModule + ".bias"] = FinetuneSupport.initialise([k], bias: true, fanIn: c.inChannels, fanOut: k, framework: framework, rng: &rng)
                let why = loaded.hasOutputLayer ? "" : " (the \(loaded.sibling?.networkTitle ?? "") trunk has none)"
                for n in [".weight", ".bias"] { report.new.append((Layout.finalModule + n, "a new 1x1x1 head for \(k) class(es)\(why), \(framework == .keras ? "glorot uniform" : "PyTorch default") init")) }
            }
            if task == .classification {
                let shapes = EncoderClassifier.headShapes(baseFilters: source.baseFilters, classes: k)
                for name in EncoderClassifier.headNames {
                    let shape = shapes[name]!
                    let fanIn = name.hasPrefix("head.fc1") ? 16 * source.baseFilters : EncoderClassifier.hidden
                    let fanOut = name.hasPrefix("head.fc1") ? EncoderClassifier.hidden : k
                    weights[name] = FinetuneSupport.initialise(shape, bias: name.hasSuffix("bias"), fanIn: fanIn, fanOut: fanOut, framework: framework, rng: &rng)
                    report.new.append((name, "the classification head (GAP -> Dense(1024, ReLU) -> Dense(\(k)))"))
                }
            }
        }
        var optimizer: Optimizer
        var notes: [String]
        if let r = resumed {
            optimizer = r.optimizer
            optimizer.learningRate = r.run.schedule.learningRate
            notes = ["resuming \(loaded.path) at step \(r.run.step) of \(r.run.totalSteps)"]
        } else {
            let o = options.optimizer(recorded: nil, framework: framework, fresh: true)
            optimizer = o.optimizer
            notes = [TrainingSession.trainedAs(arch, framework, loaded.effectiveBNEpsilon ?? framework.bnEpsilon), o.note]
        }
        let frozen: Set<String> = freezeEncoder ? encoder.filter { n in arch.tensors.contains { $0.name == n && $0.role.isTrainable } } : []
        if freezeEncoder { notes.append("encoder frozen: \(frozen.count) tensors not updated (BatchNorm statistics still follow the batches)") }
        let eps = loaded.effectiveBNEpsilon
        let model: Model
        switch task {
        case .segmentation:
            var t = Trainer(architecture: arch, framework: framework, bnEpsilon: eps, loss: loss, weights: weights, optimizer: optimizer, threads: threads)
            t.frozen = frozen
            model = .segmentation(t)
        case .classification:
            var t = ClassificationTrainer(architecture: arch, framework: framework, bnEpsilon: eps, loss: loss, weights: weights,
                                          optimizer: optimizer, classes: k, threads: threads)
            t.frozen = frozen
            model = .classification(t)
        }
        return FinetuneSetup(model: model, framework: framework, learningRate: optimizer.learningRate, report: report, notes: notes,
                             modulePrefix: loaded.mapped.hadModulePrefix, kerasLayerNames: loaded.kerasLayerNames, loss: loss, schedule: .none)
    }
}

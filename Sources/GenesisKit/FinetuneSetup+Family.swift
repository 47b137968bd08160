import Foundation
import GenesisIO
import GenesisModel
import Tensors
import Training

/// Segmentation fine-tuning of a network of another family than the Genesis U-Net, with that
/// family's conventions (`TrainingRecipe`): the recipe's activation and loss (nnU-Net Genesis:
/// softmax, `DC_and_CE_loss`), a fresh optimizer with the recipe's defaults (SGD lr 1e-2, Nesterov
/// momentum 0.99, weight decay 3e-5) that the run's flags override, and the recipe's schedule
/// (poly) unless `--schedule` names another. A label count other than the network's makes every
/// tensor whose shape depends on it new (nnU-Net: the seg_outputs), He-initialised as
/// nnU-Net's `InitWeights_He(1e-2)`.
extension FinetuneSetup {
    static func makeFamily(network source: any NetworkArchitecture, loaded: LoadedModel, task: FinetuneTask, classes k: Int,
                           resumed: (loaded: LoadedModel, optimizer: Optimizer, run: RunState)?, options: TrainingSettings,
                           freezeEncoder: Bool, loss: Loss?, threads: Int) throws -> FinetuneSetup {
        let title = source.family.title
        guard task == .segmentation else {
            throw WorkflowError(subject: loaded.path, message: "\(title) networks fine-tune for segmentation only (--task segmentation)")
        }
        guard !freezeEncoder else {
            throw WorkflowError(subject: "--freeze-encoder", message: "not available for \(title) networks yet")
        }
        let recipe = source.recipe
        let lossKind = loss ?? recipe.finetuneLoss.flatMap(Loss.init(rawValue:)) ?? .dice
        if recipe.finetuneActivation == .softmax, k < 2 {
            throw WorkflowError(subject: "--classes", message: "\(title) fine-tunes with a softmax over the classes, background included: give at least 2 classes (a 0/1 mask is 2)")
        }
        var network = source
        var report = FinetuneSupport.LoadingReport()
        var weights = loaded.mapped.store
        if resumed == nil {
            let problems = source.verify(loaded.mapped).filter { $0.kind != .unexpected }
            guard problems.isEmpty else { throw Converter.Failure.invalidSource(file: loaded.path, problems: problems) }
            if k != source.labels {
                guard let a = NetworkFamilies.family(source.family).architecture(variant: source.variantName, baseFilters: source.baseFilters,
                                                                                  labels: k, like: source) else {
                    throw WorkflowError(subject: "--classes", message: "\(title): no network with \(k) labels")
                }
                network = a
            }
            var rng = SeededGenerator(seed: options.seed ^ 0x4EAD)
            for p in network.network.parameters {
                if let t = weights[p.name], t.shape == p.shape {
                    report.loaded.append(p.name)
                    continue
                }
                if weights[p.name] != nil {
                    report.skipped.append((loaded.mapped.sourceNames[p.name] ?? p.name, "the model's has \(source.labels) label(s), the task \(k)"))
                }
                weights[p.name] = heInitialised(p, rng: &rng)
                report.new.append((p.name, "new for \(k) labels, He init (nnU-Net's InitWeights_He(1e-2))"))
            }
            for (name, _) in loaded.mapped.unexpected { report.skipped.append((name, "not part of the \(title) network")) }
        } else {
            report.loaded = weights.names
        }
        var optimizer: Optimizer
        var notes: [String]
        if let r = resumed {
            optimizer = r.optimizer
            optimizer.learningRate = r.run.schedule.learningRate
            notes = ["resuming \(loaded.path) at step \(r.run.step) of \(r.run.totalSteps)"]
        } else {
            let d = recipe.finetuneOptimizer
            let kind = options.optimizer ?? .sgd
            let momentum = kind == .sgd ? options.momentum ?? d?.momentum ?? 0.9 : 0
            optimizer = Optimizer(kind: kind, convention: source.conventions,
                                  learningRate: options.learningRate ?? (kind == .sgd ? d?.learningRate ?? 0.1 : 1e-3),
                                  momentum: momentum, nesterov: momentum > 0 && (d?.nesterov ?? false),
                                  weightDecay: options.weightDecay ?? d?.weightDecay ?? 0)
            let sgd = kind == .sgd ? ", momentum \(optimizer.momentum)\(optimizer.nesterov ? " Nesterov" : "")" : ""
            notes = ["\(network), trained as \(source.conventions.rawValue): \(recipe.summary)"
                        + (source.trainingInputNormalisation.map { "; images normalised as \($0.name): \($0.summary)" } ?? ""),
                     "loss \(lossKind.rawValue)\(loss == nil ? " (the family's)" : ""); a fresh \(kind.rawValue) optimizer (\(source.conventions.rawValue) convention, lr \(optimizer.learningRate)\(sgd), weight decay \(optimizer.weightDecay)); schedule \((options.schedule ?? Self.familySchedule(recipe)).rawValue)\(options.schedule == nil ? " (the family's)" : "")"]
        }
        let trainer = Trainer(network: network, pretraining: false, loss: lossKind, weights: weights, optimizer: optimizer, threads: threads)
        return FinetuneSetup(model: .segmentation(trainer), framework: source.conventions, learningRate: optimizer.learningRate, report: report,
                             notes: notes, modulePrefix: loaded.mapped.hadModulePrefix, kerasLayerNames: [:], loss: lossKind,
                             schedule: Self.familySchedule(recipe))
    }

    /// The schedule a recipe fine-tunes with (`none` when it leaves it to the run).
    static func familySchedule(_ recipe: TrainingRecipe) -> TrainingSettings.ScheduleKind {
        if case .poly = recipe.finetuneSchedule { return .poly }
        return .none
    }

    /// Kaiming normal with a = 0.01 (fan in) for weights of rank >= 2, zeros otherwise; InstanceNorm
    /// scales 1 (PyTorch's default), as nnU-Net initialises a new network.
    static func heInitialised(_ p: ParameterSpec, rng: inout SeededGenerator) -> Tensor {
        let n = p.elementCount
        if p.shape.count < 2 {
            return Tensor(shape: p.shape, floats: [Float](repeating: p.kind == .weight ? 1 : 0, count: n))
        }
        let fanIn = p.shape[1...].reduce(1, *)
        let std = (2 / (1 + 1e-4) / Double(fanIn)).squareRoot()
        let values = (0..<n).map { _ -> Float in
            let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(rng.next() >> 11) / Double(1 << 53)
            return Float(std * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
        }
        return Tensor(shape: p.shape, floats: values)
    }
}

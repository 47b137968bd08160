/// How a family's official code trains its network, as data the trainer reads (it holds no
/// family special case): what is applied to the network's output before the loss, the losses,
/// the fine-tuning optimizer and schedule. Names of losses and schedules are the `Training`
/// module's raw values (`Loss`, `TrainingRecipe.ScheduleRule`), so this module stays below it.
public struct TrainingRecipe: Sendable, Equatable {
    /// An activation the recipe puts after the network's output (the network itself returns
    /// logits): `none` when the description already ends in the recipe's activation.
    public enum Activation: String, Sendable, Codable { case none, sigmoid, softmax }

    /// A learning-rate rule of the fine-tuning recipe.
    public enum ScheduleRule: Sendable, Equatable {
        /// None: whatever the run asks for.
        case given
        /// lr = base (1 - epoch / maxEpochs)^exponent, set at each epoch's start (nnU-Net's poly).
        case poly(exponent: Double, maxEpochs: Int)
    }

    /// The fine-tuning optimizer's defaults (PyTorch convention when the family's is).
    public struct OptimizerDefaults: Sendable, Equatable {
        public var learningRate: Double
        public var momentum: Double
        public var nesterov: Bool
        public var weightDecay: Double
    }

    /// Pretraining: the activation on the output, the loss (`mse`), and whether a one-channel
    /// target is repeated over the output's channels (nnU-Net Genesis: `np.repeat(gt, 2, axis=1)`).
    public var pretrainActivation: Activation
    public var pretrainLoss: String
    public var pretrainTargetRepeated: Bool
    /// Segmentation fine-tuning: the activation, the loss, and (nil: the run's own) optimizer
    /// defaults and schedule.
    public var finetuneActivation: Activation
    public var finetuneLoss: String?
    public var finetuneOptimizer: OptimizerDefaults?
    public var finetuneSchedule: ScheduleRule
    /// The family's named input normalisation (`NetworkFamily.inputWindows`) the official code
    /// applies to [0, 1] cubes before the network, after the transforms; the target stays the
    /// [0, 1] cube (nnU-Net Genesis: `nnunet-cubes`). nil: none.
    public var inputWindow: String?
    /// In words, for the run's notes.
    public var summary: String

    public init(pretrainActivation: Activation = .none, pretrainLoss: String = "mse", pretrainTargetRepeated: Bool = false,
                finetuneActivation: Activation = .none, finetuneLoss: String? = nil, finetuneOptimizer: OptimizerDefaults? = nil,
                finetuneSchedule: ScheduleRule = .given, inputWindow: String? = nil, summary: String) {
        self.inputWindow = inputWindow
        self.pretrainActivation = pretrainActivation
        self.pretrainLoss = pretrainLoss
        self.pretrainTargetRepeated = pretrainTargetRepeated
        self.finetuneActivation = finetuneActivation
        self.finetuneLoss = finetuneLoss
        self.finetuneOptimizer = finetuneOptimizer
        self.finetuneSchedule = finetuneSchedule
        self.summary = summary
    }

    /// The Models Genesis U-Net: its description ends in its own sigmoid; MSE; the run's losses,
    /// optimizer and schedule.
    public static let genesisUNet = TrainingRecipe(summary: "the Models Genesis recipe (the network's own sigmoid, MSE)")

    /// nnU-Net Genesis (schemas/nnunet-genesis.md): pretraining as `competition/Genesis_nnUNet.py`
    /// (sigmoid on the logits, MSE against the cube repeated over the classes, the file's SGD);
    /// fine-tuning as nnUNetTrainerV2 (softmax, `DC_and_CE_loss` with batch Dice, SGD lr 1e-2
    /// Nesterov momentum 0.99 weight decay 3e-5, poly lr exponent 0.9 over 1000 epochs).
    public static let nnunetGenesis = TrainingRecipe(
        pretrainActivation: .sigmoid, pretrainLoss: "mse", pretrainTargetRepeated: true,
        finetuneActivation: .softmax, finetuneLoss: "dc_and_ce",
        finetuneOptimizer: OptimizerDefaults(learningRate: 1e-2, momentum: 0.99, nesterov: true, weightDecay: 3e-5),
        finetuneSchedule: .poly(exponent: 0.9, maxEpochs: 1000), inputWindow: "nnunet-cubes",
        summary: "nnU-Net Genesis's recipe: pretraining with sigmoid on the logits and MSE against the cube repeated over the classes; fine-tuning as nnUNetTrainerV2 (softmax, DC_and_CE_loss, SGD Nesterov momentum 0.99, weight decay 3e-5, poly lr)")
}

extension NetworkArchitecture {
    /// The recipe's input normalisation of [0, 1] cubes (`TrainingRecipe.inputWindow`), if any.
    public var trainingInputNormalisation: InputNormalisation? {
        guard let name = recipe.inputWindow else { return nil }
        return NetworkFamilies.family(family).inputWindows.first { $0.name == name }
    }
}

extension InputNormalisation {
    /// (clip(v * inputScale + inputOffset, low, high) - mean) / std in double, rounded once.
    public func apply(_ values: inout [Float]) {
        for i in values.indices {
            let hu = min(max(Double(values[i]) * inputScale + inputOffset, low), high)
            values[i] = Float((hu - mean) / std)
        }
    }
}

extension NetworkDescription {
    /// The description with `activation` after its (single) output, as training applies it; the
    /// same description for `none`. The node has no parameters, so the tensors are unchanged.
    public func training(_ activation: TrainingRecipe.Activation) -> NetworkDescription {
        guard activation != .none, outputs.count == 1 else { return self }
        var net = self
        let node = net.add("training \(activation.rawValue)", activation == .sigmoid ? .sigmoid : .softmax, [outputs[0]])
        net.outputs = [node]
        return net
    }
}

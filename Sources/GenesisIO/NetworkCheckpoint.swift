import GenesisModel
import Tensors
import TorchFormat

/// Checkpoints of a network of another family than the Genesis U-Net, in that family's own
/// PyTorch layout: `torch.save({'epoch', 'state_dict', 'optimizer_state_dict'})` as the official
/// nnU-Net Genesis script saves it. The state dict holds the description's parameters in its
/// order (the module's `state_dict()` order); the optimizer state is keyed by position in
/// `model.parameters()` (the trainable parameters in that order), a position without slots (a
/// parameter PyTorch never stepped) having no entry. `genesis_*` annotations ride along as
/// strings, as `TorchBridge` writes them.
public enum NetworkCheckpoint {
    public static func writeTorch(network: any NetworkArchitecture, weights: TensorStore, optimizer: OptimizerState?, epoch: Int?,
                                  annotations: [String: String], to path: String, modulePrefix: Bool) throws {
        let parameters = network.network.parameters
        var stateDict = TensorStore()
        for p in parameters {
            guard let t = weights[p.name] else {
                throw GenesisIOError.cannotWrite(file: path, reason: "the weights have no \(p.name)")
            }
            stateDict[p.name] = t
        }
        var torchOptimizer: TorchOptimizerState?
        if let o = optimizer {
            guard o.convention == .torch else {
                throw GenesisIOError.cannotWrite(file: path, reason: "\(network.family.title) checkpoints keep a PyTorch-convention optimizer")
            }
            let trainable = parameters.filter(\.trainable).map(\.name)
            var state: [Int: [TorchNamedValue]] = [:]
            for (i, name) in trainable.enumerated() {
                guard let s = o.slots[name] else { continue }
                var values: [TorchNamedValue] = []
                if o.kind == .adam { values.append(TorchNamedValue("step", .tensor(Tensor(shape: [], floats: [Float(o.step ?? 0)])))) }
                for generic in (o.kind == .sgd ? OptimizerState.sgdSlots : OptimizerState.adamSlots) {
                    if let t = s[generic] { values.append(TorchNamedValue(OptimizerState.slotName(generic, in: .torch), .tensor(t))) }
                }
                state[i] = values
            }
            torchOptimizer = TorchOptimizerState(paramGroups: [TorchParamGroup(hyperparameters: TorchBridge.hyperparameters(o),
                                                                              params: Array(0..<trainable.count))], state: state)
        }
        let checkpoint = TorchCheckpoint(epoch: epoch, stateDict: stateDict, optimizer: torchOptimizer, format: .zip, otherKeys: [],
                                         stateDictKey: "state_dict",
                                         extras: [TorchNamedValue(GenesisWriter.key, .string(GenesisWriter.name))]
                                             + annotations.sorted { $0.key < $1.key }.map { TorchNamedValue($0.key, .string($0.value)) })
        try TorchWriter.write(checkpoint, to: path, modulePrefix: modulePrefix)
    }
}

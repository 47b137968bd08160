import ArgumentParser
import Distributed
import Foundation
import GenesisKit

struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune imported weights for segmentation or classification.",
        discussion: """
        Segmentation (the official recipe): the whole encoder-decoder, the pretrained 1x1x1 head kept when its label count matches --classes and a new one otherwise (sigmoid for one class, softmax over channels for more); Dice loss by default (1 - (2 sum(y p) + 1) / (sum y + sum p + 1) over the batch); validation Dice reported. Labels: (N, D, H, W) masks or class indices, or (N, K, D, H, W).

        Classification: the encoder output (depth_7 / down_tr512) -> global average pooling -> Dense(1024, ReLU) -> Dense(K); sigmoid + BCE for one class, softmax + CE for more; validation accuracy and AUC reported. Labels: (N,) 0/1 or class indices, or (N, K) one-hot.

        A fresh optimizer starts, whatever optimizer state the model records: SGD (lr 0.1, momentum 0.9) unless --optimizer adam (lr 1e-3); --lr and --momentum override. What was loaded, what is new and what is left out, and why, is reported (and in --json as "loading"); nothing is skipped silently. Training follows the model's framework (BN momentum and epsilon, optimizer convention). Checkpoints: .h5 or .genesis for a Keras model, .pt or .genesis for a PyTorch one; a classifier is written with its head and the head's optimizer state in each (all resume exactly): .genesis and .pt keep the head tensors as head.fc1.weight, head.fc1.bias, head.fc2.weight, head.fc2.bias (PyTorch layout; in a .pt their optimizer state follows the network's parameters, positions 64-67 for the PyTorch network), .h5 is a Keras full save of the classifier itself (tf_keras load_model gives encoder -> GlobalAveragePooling3D -> dense_1 Dense(1024, relu) -> dense_2 Dense(K, sigmoid|softmax)), the decoder kept beside it in a group Keras does not read, so the file still reads back as a whole Genesis network. `genesis run --classifier` runs a classifier file.

        An nnU-Net Genesis model fine-tunes for segmentation with nnU-Net's own conventions (nnUNetTrainerV2): softmax and DC_and_CE_loss (batch Dice, smooth 1e-5, no background, + cross-entropy), a fresh SGD with lr 1e-2, Nesterov momentum 0.99 and weight decay 3e-5 (flags override), the poly schedule lr (1 - epoch / epochs)^0.9 unless --schedule names another, the network's 2 labels by default (a 0/1 mask: background and foreground), images normalised as the file's training normalised its cubes (nnunet-cubes); its checkpoint is the file's own torch layout (.pt). Schedules, loss and optimizer are said in the notes and --json settings.

        Data parallel under mpirun or srun as pretrain (--sync-bn, --mpi-timeout); the Dice loss is formed from the sums of every rank.

        Examples:
          genesis finetune --init Genesis_Chest_CT.h5 --task segmentation --images x.npy --labels masks.npy --validation-split 0.2 --epochs 20 --out seg.h5
          genesis finetune --init Genesis_Chest_CT.pt --task classification --images x.npy --labels y.npy --classes 2 --freeze-encoder --out cls.pt
          mpirun -np 4 genesis finetune --init Genesis_Chest_CT.pt --task segmentation --images x.npy --labels masks.npy --batch 8 --sync-bn --out seg.pt
        """
    )

    typealias Task = FinetuneTask

    @Option(name: .customLong("init"), help: "The model to start from.") var initial: String?
    @Option(help: "Continue the run a finetune checkpoint records.") var resume: String?
    @Option(help: "segmentation or classification.") var task: Task?
    @Option(help: "Images (.npy), (N, D, H, W) or (N, 1, D, H, W), values in [0, 1].") var images: String
    @Option(help: "Labels (.npy): see above.") var labels: String
    @Option(parsing: .unconditional, help: "Classes K (default: from the labels).") var classes: Int?
    @Option(help: "dice, bce, ce, mse or dc_and_ce (default: dice for segmentation, dc_and_ce for an nnU-Net network; bce for one class, ce for more in classification).") var loss: Loss?
    @Flag(help: "Train only the decoder and head (segmentation) or the head (classification).") var freezeEncoder = false
    @Option(parsing: .unconditional, help: "Fraction of the images held out for validation, seeded by --seed (default 0: none).") var validationSplit: Double = 0
    @OptionGroup var training: TrainingOptions
    @Option(help: "Where to write the checkpoint (.h5 or .genesis for a Keras model, .pt or .genesis for a PyTorch one).") var out: String
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func validate() throws {
        guard (initial == nil) != (resume == nil) else { throw ValidationError("give --init MODEL to start a run or --resume CKPT to continue one") }
        if resume == nil, task == nil { throw ValidationError("--task segmentation|classification is needed with --init") }
        guard validationSplit >= 0 && validationSplit < 1 else { throw ValidationError("--validation-split must be in [0, 1), not \(validationSplit)") }
        if let c = classes, c < 1 { throw ValidationError("--classes must be positive, not \(c)") }
        if let c = classes, c > Architecture.maxLabels { throw ValidationError("--classes must be at most \(Architecture.maxLabels), not \(c)") }
    }

    func run() throws {
        try TrainingRanks.run(training.settings, json: json) { ranks in try run(ranks) }
    }

    private func run(_ ranks: TrainingRanks) throws {
        // A --resume checkpoint may be OUT (the run continues into it); the data and --init may not.
        try training.settings.checkOutputs(out: out, inputs: [initial, images, labels])
        let threads = ranks.threads(training.threads)
        let resumed = try resume.map(TrainingCheckpoint.resume)
        if let r = resumed, r.run.kind != "finetune" {
            throw WorkflowError(subject: resume!, message: "it records a \(r.run.kind) run; continue it with genesis \(r.run.kind), or start fine-tuning from it with --init")
        }
        guard let task = resumed.flatMap({ $0.run.task.flatMap(Task.init(rawValue:)) }) ?? self.task else {
            throw WorkflowError(subject: resume ?? "--task", message: "the checkpoint records no task: give --task")
        }
        let batch = resumed?.run.batch ?? training.batch, shuffle = resumed?.run.shuffle ?? !training.noShuffle
        try ranks.check(batch: batch)
        // A seeded validation split (a resumed run keeps its own seed and fraction); each rank
        // reads only its shard of the training split (FinetuneData).
        let seed = resumed?.run.seed ?? training.seed
        let split = resumed?.run.validationSplit ?? validationSplit
        let convert: FinetuneData.Targets = task == .segmentation ? FinetuneSupport.segmentationTargets : FinetuneSupport.classificationTargets
        // The model, read once; a network of another family fine-tunes to its own label count by default.
        let model = try resumed?.loaded ?? ModelLoader.load(initial!)
        let network = try model.networkArchitecture()
        let familyLabels = network is Architecture ? nil : network.labels
        let wanted = classes ?? resumed?.run.classes ?? familyLabels, spatial = resumed?.run.dataSpatial
        let loaded = ranks.distributed
            ? try FinetuneData.shard(images: images, labels: labels, spatial: spatial, classes: wanted, targets: convert, segmentation: task == .segmentation,
                                     split: split, seed: seed, ranks: ranks, batch: batch, shuffle: shuffle)
            : try FinetuneData.whole(images: images, labels: labels, spatial: spatial, classes: wanted, targets: convert,
                                     segmentation: task == .segmentation, split: split, seed: seed)
        var data = loaded.train, validation = loaded.validation
        let k = loaded.classes
        // A network family's input normalisation of [0, 1] images (nnU-Net Genesis: nnunet-cubes).
        let normalisation = network.trainingInputNormalisation
        data.inputNormalisation = normalisation
        if let n = normalisation, var v = validation {
            n.apply(&v.0.data)
            validation = v
        }
        let givenLoss = resumed?.run.loss ?? loss
        if let l = givenLoss, [.ce, .dcAndCE].contains(l), k == 1 {
            throw WorkflowError(subject: "--loss", message: "\(l.rawValue) needs two or more classes (one sigmoid output gives no gradient to the negatives): use bce for one class")
        }
        let setup = try FinetuneSetup.make(task: task, classes: k, initial: initial, resumed: resumed, options: training.settings,
                                           freezeEncoder: resumed?.run.frozenEncoder ?? freezeEncoder, loss: givenLoss, threads: threads, loaded: model)
        let lossKind = setup.loss
        // The network family's schedule when --schedule names none (nnU-Net: poly).
        var settings = training.settings
        if settings.schedule == nil { settings.schedule = setup.schedule }
        var session = TrainingSession(kind: "finetune", out: out, options: settings, json: json, trainer: nil, resumed: resumed?.run,
                                      transforms: "none", loss: lossKind, notes: [])
        session.ranks = ranks
        session.notes = setup.notes
        session.modulePrefix = setup.modulePrefix
        if !json, ranks.isRoot { for line in setup.report.lines { CLIOutput.warn(line) } }
        _ = try TrainingCheckpoint.format(for: out, network: network)   // refuse a wrong extension before training
        if resumed == nil, data.inputs.totalCount < training.batch {
            throw WorkflowError(subject: "--images", message: "\(data.inputs.totalCount) training images are fewer than one batch of \(training.batch) (--batch)")
        }
        var run = try session.runState(data: data.inputs, framework: setup.framework, learningRate: setup.learningRate)
        run.task = task.rawValue
        run.classes = k
        run.validationSplit = split
        run.frozenEncoder = resumed?.run.frozenEncoder ?? freezeEncoder
        let write: (any CheckpointableModel, RunState) throws -> Void = { model, run in
            try TrainingCheckpoint.write(model, run: run, to: out, inputShape: [1] + run.dataSpatial, modulePrefix: setup.modulePrefix,
                                         kerasLayerNames: setup.kerasLayerNames)
        }
        func extra(_ optimizer: Optimizer) -> [String: Any] {
            ["loading": setup.report.json, "task": task.rawValue, "classes": k, "validation_split": split, "freeze_encoder": run.frozenEncoder ?? false,
             "settings": settings.json(optimizer: optimizer, run: run, threads: threads)]
        }
        switch setup.model {
        case let .segmentation(trainer):
            report(try session.train(try ranks.prepare(trainer), data: data, validation: validation, run: run,
                              metric: { p, y in ["dice": Metrics.dice(p, y)] }, checkpoint: { try write($0, $1) },
                              extraJSON: extra(trainer.optimizer)))
        case let .classification(trainer):
            report(try session.train(try ranks.prepare(trainer), data: data, validation: validation, run: run, metric: { p, y in
                var m = ["accuracy": Metrics.accuracy(p, y)]
                m["auc"] = Metrics.auc(p, y)
                return m
            }, checkpoint: { try write($0, $1) }, extraJSON: extra(trainer.optimizer)))
        }
    }
}
extension Loss: ExpressibleByArgument {}
extension FinetuneTask: ExpressibleByArgument {}

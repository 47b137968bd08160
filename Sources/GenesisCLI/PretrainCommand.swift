import ArgumentParser
import Distributed
import Foundation
import GenesisKit

struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Continue the Models Genesis self-supervised pretraining of a model on your cubes.",
        discussion: """
        Each step takes a batch of cubes, applies the Models Genesis transforms (flip, local pixel shuffling, non-linear intensity map, in- or out-painting, exactly as the official generate_pair), and trains the network to restore the (flipped) original with MSE, as the source framework would: a Keras model trains as tf_keras train_on_batch (BN momentum 0.99, epsilon 1e-3, Keras SGD/Adam), a PyTorch model as the official PyTorch code (momentum 0.1, epsilon 1e-5, torch SGD/Adam). The optimizer continues the state the model records unless --optimizer names another.

        An nnU-Net Genesis model (genesis_nnunet_luna16_006.model) continues as its official script trained it: sigmoid on the logits, MSE against the cube repeated over the 2 classes, the file's SGD state (seg_outputs.0-3, which get no gradient, are left alone as PyTorch leaves them), inputs normalised after the transforms as (x * 2000 - 1000 - (-775.8457)) / 251.9326; the checkpoint (.pt) is the file's own layout, which Generic_UNet and torch.optim.SGD load with load_state_dict.

        Data: .npy files of cubes, (N, 64, 64, 32) float64 in [0, 1] as the official cube files, or (N, 1, D, H, W); several files with commas. --transforms none trains input -> target as given (--targets T.npy, else the input itself).

        The checkpoint (OUT) is written in its extension's format: .h5 (Keras full save) or .genesis for a Keras model, .pt (official layout) or .genesis for a PyTorch one, with optimizer state and the run's progress, atomically, every --checkpoint-every steps and at the end. --resume OUT continues the run exactly (weights, optimizer, step, data order, transforms); --steps and --epochs count the whole run.

        Data parallel: started by mpirun or srun, the ranks split the global --batch (divisible by their count), each reads its own shard of the cubes, the gradients are averaged; rank 0 prints, logs and checkpoints. --sync-bn makes BatchNorm use the global batch's statistics (N ranks then compute what one process does); --mpi-timeout ends the job when a rank stops answering. See README "On several processes".

        Examples:
          genesis pretrain --init Genesis_Chest_CT.h5 --data cubes.npy --validation val.npy --epochs 10 --out run.h5
          genesis pretrain --init Genesis_Chest_CT.pt --data a.npy,b.npy --steps 1000 --lr 0.01 --schedule step --out run.pt --checkpoint-every 100
          genesis pretrain --resume run.pt --data a.npy,b.npy --steps 2000 --out run.pt
          mpirun -np 2 genesis pretrain --init Genesis_Chest_CT.pt --data a.npy,b.npy --batch 6 --sync-bn --steps 1000 --out run.pt
        """
    )

    @Option(name: .customLong("init"), help: "The model to start from: its weights and optimizer state.") var initial: String?
    @Option(help: "Continue the run a checkpoint records.") var resume: String?
    @Option(help: "Training cubes (.npy), several with commas.") var data: String
    @Option(help: "Validation cubes (.npy): the loss per epoch.") var validation: String?
    @Option(help: "With --transforms none: targets for the cubes of --data (.npy, same count and shape).") var targets: String?
    @Option(help: "genesis (the official transforms) or none.") var transforms: TransformChoice = .genesis
    @OptionGroup var training: TrainingOptions
    @Option(help: "Where to write the checkpoint (.h5, .pt or .genesis).") var out: String
    @Flag(help: "Print one JSON object instead of text.") var json = false

    enum TransformChoice: String, ExpressibleByArgument, CaseIterable { case genesis, none }


    mutating func validate() throws {
        guard (initial == nil) != (resume == nil) else { throw ValidationError("give --init MODEL to start a run or --resume CKPT to continue one") }
        if targets != nil, transforms != .none { throw ValidationError("--targets goes with --transforms none") }
        if targets != nil, validation != nil {
            throw ValidationError("--validation scores the restoration of its own cubes; with --targets there are no validation targets: leave --validation out")
        }
    }

    func run() throws {
        try TrainingRanks.run(training.settings, json: json) { ranks in try run(ranks) }
    }

    private func run(_ ranks: TrainingRanks) throws {
        // OutputGuard (issue 19): OUT is none of the data or --init (a --resume checkpoint may be OUT).
        try training.settings.checkOutputs(out: out, inputs: [initial, validation, targets] + data.split(separator: ",").map(String.init))
        let session = try TrainingSession.prepare(kind: "pretrain", initial: initial, resume: resume, out: out, options: training.settings,
                                                  transforms: transforms == .genesis ? "genesis" : "none", loss: .mse, json: json, ranks: ranks)
        let threads = ranks.threads(training.threads)
        let cubes = try session.shardCubes(data, expect: session.inputSpatial)
        try session.checkData(count: cubes.totalCount)
        // A resumed run keeps its own transforms and seed (RunState), whatever the flags say.
        let transformName = session.resumed?.transforms ?? transforms.rawValue
        let seed = session.resumed?.seed ?? training.seed
        let pretext: GenesisTransforms? = transformName == TransformChoice.genesis.rawValue ? .official : nil
        let trainer = session.trainer!
        // The network family's input normalisation of the cubes (nnU-Net Genesis: nnunet-cubes), after the transforms.
        let normalisation = trainer.source.trainingInputNormalisation
        var data = try TrainingData(inputs: cubes, targets: try targets.map { try session.shardCubes($0, expect: cubes.spatial) }, transforms: pretext)
        data.inputNormalisation = normalisation
        // Validation runs on rank 0 alone.
        let validationPairs = ranks.isRoot ? try validation.map {
            try TrainingData.validationPairs(try TrainingSession.cubes($0, expect: cubes.spatial), targets: nil, transforms: pretext,
                                             seed: seed, threads: threads, inputNormalisation: normalisation)
        } : nil
        var run = try session.runState(data: cubes, framework: trainer.framework, learningRate: trainer.optimizer.learningRate)
        run.transforms = transformName
        var extra: [String: Any] = ["settings": training.settings.json(optimizer: trainer.optimizer, run: run, threads: threads)]
        if let r = trainer.reducer { extra["allreduce_bytes_per_step"] = r.bytesPerStep; extra["allreduce_buckets"] = r.plan.sizes.count }
        report(try session.train(trainer, data: data, validation: validationPairs, run: run, checkpoint: { trainer, run in
            try TrainingCheckpoint.write(trainer, run: run, to: out, inputShape: [1] + run.dataSpatial, modulePrefix: session.modulePrefix,
                                         kerasLayerNames: session.kerasLayerNames)
        }, extraJSON: extra))
    }
}

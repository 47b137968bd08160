import Foundation
import GenesisIO
import GenesisModel
import Runtime3D
import Tensors
import VolumeIO

extension RunCommand {
    /// `run --classifier`: the encoder -> GAP -> Dense(1024, ReLU) -> Dense(K) model of a file
    /// that carries a classification head, on all cubes as one batch; writes (N, K) float32.
    func runClassifier(_ loaded: LoadedModel, network: GenesisNetwork, _ x: Tensor, mode: BatchNormMode, epsilon: Float) throws {
        guard !loaded.head.isEmpty else {
            throw CLIError(subject: model, message: "the file carries no classification head (head.fc1.*, head.fc2.* or a Keras classifier's Dense layers); write one with genesis finetune --task classification")
        }
        var weights = loaded.mapped.store
        for (n, t) in loaded.head.entries { weights[n] = t }
        let m = try EncoderClassifier(network: network, weights: weights)
        let nThreads = threads ?? Parallel.defaultThreads
        let start = Date()
        let y = try m.forward(try Self.cubes(x, 0..<x.shape[0]), bn: mode, threads: nThreads)
        let out = Tensor(shape: [x.shape[0], m.classes], floats: y.data)
        try NPY.write(out, to: output)
        let seconds = Date().timeIntervalSince(start)
        if json {
            CLIOutput.json(["model": model, "input": input, "output": output, "input_shape": x.shape, "output_shape": out.shape,
                            "classifier": true, "classes": m.classes, "bn": mode.rawValue, "bn_epsilon": Double(epsilon),
                            "threads": nThreads, "seconds": seconds])
        } else {
            CLIOutput.line("classifier (\(m.classes) class(es)) on \(network.architecture), BN \(mode.rawValue) (eps \(epsilon))")
            CLIOutput.line("input \(CLIOutput.shape(x.shape)) -> output \(CLIOutput.shape(out.shape)) in \(String(format: "%.3f", seconds)) s; wrote \(output)")
        }
    }
}

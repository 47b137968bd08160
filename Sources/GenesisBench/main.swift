// Benchmarks (release build): `swift run -c release GenesisBench forward [options]`.
import Foundation
import GenesisModel
import HDF5Sandbox
import Runtime3D
import Tensors

let usage = """
usage: GenesisBench read FILE.h5 [reps]        (Keras HDF5 into memory; peer: scripts/bench_read_h5py.py)
       GenesisBench read-sandboxed FILE.h5 [reps]  (the same through the HDF5 sandbox, helper: the genesis beside this binary)
       GenesisBench convert IN OUT [reps]      (the convert pipeline without the forward proof)
       GenesisBench official-size IN OUT       (IN + seeded SGD slots as a Keras model save: ~131 MB)
       GenesisBench forward [--variant keras|torch] [--reps N] [--threads N] [--bn inference|batch]
                            [--algorithm winograd|winograd2D|im2col] [--winograd2d-min-channels N] [--winograd2d-min-tiles N] [--height-tile 2|4] [--backward-height-tile 2|4] [--plane-stacking true|false] [--upsampled-phases-min-voxels N] [--tile-floats N] [--min-tile-columns N] [--json]
  Full Genesis network (base 32, seeded weights) on 1x1x64x64x32: median and best seconds,
  GFLOP/s, peak RSS and a per-step time table.
       GenesisBench backward [--variant keras|torch] [--reps N] [--threads N] [--algorithm ...] [tuning options as forward] [--json]
  One training step's gradients on the same network and cube, batch statistics: network build
  (filter transforms), traced forward, backward from the MSE gradient; medians over the reps.
"""

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n" + usage + "\n").utf8))
    exit(2)
}

// `convert` and `official-size` load through ModelLoader, whose HDF5 sandbox (SandboxHelper
// .automatic) runs genesis-hdf5-helper beside this executable, else a fork; the hidden
// subcommand is served too, for GENESIS_HDF5_HELPER naming this executable.
SandboxChild.serveIfAsked()
MemoryTuning.reuseLargeBuffers()
var args = Array(CommandLine.arguments.dropFirst())
if args.first == "read" || args.first == "read-sandboxed" || args.first == "convert" { IOBenchmarks.run(args) }
if args.first == "official-size" { OfficialSizeFile.make(args) }
if args.first == "permute" { PermuteBenchmark.run(args) }
guard args.first == "forward" || args.first == "backward" else { fail(args.isEmpty ? "missing benchmark name" : "unknown benchmark \(args[0])") }
let benchmark = args.removeFirst()
var variant = Variant.keras, reps = 5, threads = Parallel.defaultThreads, json = false, bn = BatchNormMode.inference
var tuning = ConvolutionTuning.default, algorithm = Conv3D.defaultAlgorithm
while let a = args.first {
    args.removeFirst()
    func value() -> String { guard let v = args.first else { fail("\(a) needs a value") }; args.removeFirst(); return v }
    func int() -> Int { let v = value(); guard let n = Int(v), n > 0 else { fail("\(a): expected a positive integer, found \(v)") }; return n }
    switch a {
    case "--variant": guard let v = Variant(rawValue: value()) else { fail("--variant: keras or torch") }; variant = v
    case "--reps": reps = int()
    case "--threads": threads = int()
    case "--bn": guard let m = BatchNormMode(rawValue: value()) else { fail("--bn: inference or batch") }; bn = m
    case "--tile-floats": tuning.tileFloats = int()
    case "--min-tile-columns": tuning.minTileColumns = int()
    case "--winograd2d-min-channels": tuning.winograd2DMinChannels = int()
    case "--winograd2d-min-tiles": tuning.winograd2DMinTiles = int()
    case "--height-tile": tuning.winograd2DHeightTile = int()
    case "--backward-height-tile": tuning.winograd2DBackwardHeightTile = int()
    case "--algorithm": guard let v = Conv3D.Algorithm(rawValue: value()) else { fail("--algorithm: im2col, winograd or winograd2D") }; algorithm = v
    case "--upsampled-phases-min-voxels": tuning.upsampledPhasesMinVoxels = int()
    case "--plane-stacking": guard let v = Bool(value()) else { fail("--plane-stacking: true or false") }; tuning.planeStacking = v
    case "--json": json = true
    default: fail("unknown option \(a)")
    }
}

if benchmark == "backward" {
    do {
        let r = try BackwardBenchmark(variant: variant, reps: reps, threads: threads, algorithm: algorithm, tuning: tuning).run()
        if json {
            let obj: [String: Any] = [
                "benchmark": "backward", "variant": variant.rawValue, "shape": [1, 1, 64, 64, 32], "bn": "batch", "threads": threads,
                "reps": reps, "build_s": r.build, "forward_s": r.forward, "backward_s": r.backward, "step_s": r.step, "best_step_s": r.bestStep,
                "peak_rss_mb": Double(r.peakRSSBytes) / 1048576, "gradient_abs_sum": r.gradientChecksum, "algorithm": algorithm.rawValue,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "backward %@ variant, 1x1x64x64x32, %d threads, BN batch, %d reps, conv %@", variant.rawValue, threads, reps, algorithm.rawValue))
            print(String(format: "median: build %.3f s + forward %.3f s + backward %.3f s = step %.3f s (best %.3f s); peak RSS %.0f MB; sum |gradients| %.6g",
                         r.build, r.forward, r.backward, r.step, r.bestStep, Double(r.peakRSSBytes) / 1048576, r.gradientChecksum))
            print("| backward step | median ms |")
            print("| --- | ---: |")
            for l in r.layers { print(String(format: "| %@ | %.1f |", l.name, l.seconds * 1000)) }
        }
    } catch {
        FileHandle.standardError.write(Data("GenesisBench: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}

do {
    let r = try ForwardBenchmark(variant: variant, reps: reps, threads: threads, bn: bn, algorithm: algorithm, tuning: tuning).run()
    if json {
        let obj: [String: Any] = [
            "benchmark": "forward", "variant": variant.rawValue, "shape": [1, 1, 64, 64, 32], "bn": bn.rawValue,
            "threads": threads, "reps": reps, "median_s": r.median, "best_s": r.best, "gflop": r.flops / 1e9,
            "gflops_median": r.flops / r.median / 1e9, "peak_rss_mb": Double(r.peakRSSBytes) / 1048576, "cpu_s_per_forward": r.cpuSecondsPerForward,
            "tile_floats": tuning.tileFloats, "algorithm": algorithm.rawValue, "winograd2d_min_channels": tuning.winograd2DMinChannels, "min_tile_columns": tuning.minTileColumns, "output_sum": r.outputChecksum,
            "layers": r.layers.map { ["name": $0.name, "median_s": $0.seconds, "gflop": $0.flops / 1e9, "shape": $0.shape] as [String: Any] },
        ]
        let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    } else {
        print(String(format: "forward %@ variant, 1x1x64x64x32, %d threads, BN %@, %d reps, conv %@", variant.rawValue, threads, bn.rawValue, reps, algorithm.rawValue))
        print(String(format: "median %.3f s, best %.3f s, %.1f GFLOP, %.1f GFLOP/s (median), peak RSS %.0f MB, CPU %.2f s per forward",
                     r.median, r.best, r.flops / 1e9, r.flops / r.median / 1e9, Double(r.peakRSSBytes) / 1048576, r.cpuSecondsPerForward))
        print("| step | output shape | median ms | GFLOP | GFLOP/s |")
        print("| --- | --- | ---: | ---: | ---: |")
        for l in r.layers {
            let rate = l.flops > 0 ? String(format: "%.0f", l.flops / l.seconds / 1e9) : ""
            let gf = l.flops > 0 ? String(format: "%.2f", l.flops / 1e9) : ""
            print(String(format: "| %@ | %@ | %.1f | %@ | %@ |", l.name, "\(l.shape)", l.seconds * 1000, gf, rate))
        }
    }
} catch {
    FileHandle.standardError.write(Data("GenesisBench: \(error)\n".utf8))
    exit(1)
}

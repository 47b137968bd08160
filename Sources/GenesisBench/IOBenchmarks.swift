import Foundation
import GenesisIO
import GenesisModel
import HDF5Sandbox
import KerasFormat
import Tensors

/// `read FILE`: every tensor of a Keras HDF5 file into memory, in saved order (what h5py + numpy
/// do in scripts/bench_read_h5py.py). `convert IN OUT`: the whole `genesis convert` pipeline
/// (verify, variant, write, re-read, compare), without the forward proof.
enum IOBenchmarks {
    static func run(_ args: [String]) -> Never {
        guard let name = args.first, args.count >= 2 else { fail("usage: GenesisBench read FILE [reps] | convert IN OUT [reps]") }
        let isConvert = name == "convert"
        let reps = Int(args.count > (isConvert ? 3 : 2) ? args[isConvert ? 3 : 2] : "") ?? 10
        var times: [Double] = []
        var first = 0.0, firstDetail = ""
        var detail = ""
        do {
            // The first pass warms the page cache and is reported apart (`first_s`: a fresh
            // process's memory, as one `genesis convert` meets it); the others make the median.
            for i in 0...reps {
                let t = Date()
                if isConvert {
                    guard args.count >= 3 else { fail("convert needs IN and OUT") }
                    let out = args[2]
                    let loadStart = Date()
                    let source = try ModelLoader.load(args[1])
                    let loadSeconds = Date().timeIntervalSince(loadStart)
                    let r = try Converter.convert(source, to: out, format: FormatKind.fromExtension(out)!)
                    detail = String(format: "load %.3f, ", loadSeconds)
                    detail += "\(r.written.weights.count) tensors -> \(out); " + r.phases.map { String(format: "%@ %.3f", $0.name, $0.seconds) }.joined(separator: ", ")
                } else if name == "read-sandboxed" {
                    let helper = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("genesis").path
                    let m = try SandboxedKerasReader.read(args[1], archive: false, helper: .executable(helper))
                    detail = "\(m.layers.count) layers, \(m.valueCount) values, \(m.optimizerWeights.count) optimizer tensors, helper \(helper)"
                } else {
                    let m = try KerasReader.read(args[1])
                    detail = "\(m.layers.count) layers, \(m.valueCount) values, \(m.optimizerWeights.count) optimizer tensors"
                }
                if i > 0 { times.append(Date().timeIntervalSince(t)) } else { (first, firstDetail) = (Date().timeIntervalSince(t), detail) }
            }
        } catch {
            fail("\(error)")
        }
        times.sort()
        let obj: [String: Any] = ["benchmark": name, "file": args[1], "reps": reps, "median_s": times[times.count / 2], "best_s": times[0], "detail": detail,
                                  "first_s": first, "first_detail": firstDetail]
        print(String(decoding: try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
        exit(0)
    }
}

/// `official-size IN OUT`: IN's weights plus seeded SGD momentum slots (lr 1.0, momentum 0.9,
/// the official optimiser) written as a Keras 2 model save, the layout and size of the released
/// `Genesis_Chest_CT.h5` (about 131 MB), for conversion benchmarks at the official size.
enum OfficialSizeFile {
    static func make(_ args: [String]) -> Never {
        guard args.count == 3 else { fail("usage: GenesisBench official-size IN.h5 OUT.h5") }
        do {
            let m = try ModelLoader.load(args[1])
            var p = try m.payload(digest: false)
            var rng = SeededGenerator(seed: 1)
            var slots: [String: [String: Tensor]] = [:]
            for spec in p.architecture.tensors where spec.role.isTrainable {
                slots[spec.name] = ["momentum": Tensor(shape: spec.shape, floats: (0..<spec.elementCount).map { _ in Float(rng.nextNormal() * 1e-3) })]
            }
            p.optimizer = OptimizerState(kind: .sgd, convention: .keras, step: 100, hyperparameters: ["lr": 1.0, "momentum": 0.9], slots: slots)
            try ModelWriter.write(p, to: args[2], format: .kerasH5, options: WriteOptions(kerasFullModel: true))
            print("wrote \(args[2]): \(try FileIO.size(of: args[2])) bytes")
            exit(0)
        } catch {
            fail("\(error)")
        }
    }
}

import Foundation
import Tensors

/// `run`'s checks of its files before the model loads: the input is cubes (.npy) or a scan,
/// and OUT is a name for what is written, none of the inputs, and replaces only its own kind.
extension RunCommand {
    func checkFiles() throws {
        let scan = Self.isVolumePath(input)
        if !scan, FileIO.exists(input), let kind = FileKind.describe(path: input),
           let prefix = try? FileIO.readPrefix(input, count: 8), !FileKind.isNPY(prefix) {
            throw CLIError(subject: input, message: "is \(kind), not cubes (.npy) or a scan (.nii, .nii.gz, .mhd, .mha)")
        }
        if !scan, OutputKind.nifti.matchingExtension(output) != nil {
            throw CLIError(subject: output, message: "cubes (.npy input) give a NumPy array (N, labels, D, H, W), not a NIfTI scan: name the output \(OutputKind.npy.suggestedName(for: output)), or run a whole scan (.nii, .nii.gz, .mhd, .mha) to get a NIfTI")
        }
        try OutputGuard.check(output, writes: scan ? .nifti : .npy, inputs: [model, input], force: force)
    }

    /// The window size for a scan: --patch, else the model's recorded input (C, D, H, W) when its
    /// sides are multiples of 8, else 64,64,32; and where it came from, for the summary.
    func patchSides(recordedInput: [Int]?) throws -> (sides: [Int], origin: String) {
        if patch != nil { return (try parsedPatch(), "--patch") }
        if let r = recordedInput, r.count == 4, r[1...].allSatisfy({ $0 >= 8 && $0 % 8 == 0 && $0 <= 1024 }) {
            return (Array(r[1...]), "the model's recorded input size")
        }
        return (Self.defaultPatch, "the default; the model records no input size")
    }
}

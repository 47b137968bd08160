import Tensors

/// Network inputs from arrays: cubes as (N, 1, D, H, W) float32.
public enum VolumeBatch {
    /// Takes (N, 1, D, H, W) as is and (N, D, H, W) (the official cube files) with a channel
    /// axis added; any numeric dtype, converted to float32.
    public static func networkInput(_ t: Tensor, file: String = "<memory>") throws -> Tensor {
        let shape: [Int]
        switch t.rank {
        case 5 where t.shape[1] == 1: shape = t.shape
        case 4: shape = [t.shape[0], 1] + t.shape[1...]
        default:
            throw VolumeError(file: file, what: "shape", expected: "(N, 1, D, H, W) or (N, D, H, W)", found: "\(t.shape)")
        }
        let f = t.asFloat32()
        guard let r = f.reshaped(shape) else {
            throw VolumeError(file: file, what: "shape", expected: "\(shape)", found: "\(t.shape)")
        }
        return r
    }

    /// Reads a `.npy` of cubes as a network input.
    public static func readNPY(_ path: String) throws -> Tensor {
        try networkInput(NPY.read(path), file: path)
    }
}

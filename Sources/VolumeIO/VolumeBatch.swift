import Tensors

/// Network inputs from arrays: cubes as (N, 1, D, H, W) float32.
public enum VolumeBatch {
    /// Takes (N, 1, D, H, W) as is and (N, D, H, W) (the official cube files) with a channel
    /// axis added. Float arrays are taken as they are (the network expects values in [0, 1]);
    /// integer arrays (raw HU, int16 scans) only with a `window`, which any dtype may have.
    /// Shapes that are channels-last, multi-channel or a single cube are refused with what to do.
    public static func networkInput(_ t: Tensor, file: String = "<memory>", window: IntensityWindow? = nil) throws -> Tensor {
        let shape = try channelsFirstShape(t.shape, file: file)
        if window == nil, !t.dtype.isFloatingPoint {
            throw VolumeError(file: file, what: "dtype",
                              expected: "float32 or float64 values in [0, 1], or an integer array with --window ct|mri|LO,HI",
                              found: "\(t.dtype.rawValue): raw intensities need a window (--window ct clips [-1000, 1000] HU and scales to [0, 1]; --window mri [0, 4000]; --window LO,HI any range)")
        }
        let f = window.map { $0.apply(to: t) } ?? t.asFloat32()
        guard let r = f.reshaped(shape) else {
            throw VolumeError(file: file, what: "shape", expected: "\(shape)", found: "\(t.shape)")
        }
        return r
    }

    /// (N, 1, D, H, W) for an input of shape `s`, or an error that says what was found and what to do.
    static func channelsFirstShape(_ s: [Int], file: String) throws -> [Int] {
        func refuse(_ advice: String) -> VolumeError {
            VolumeError(file: file, what: "shape", expected: "(N, 1, D, H, W) or (N, D, H, W)", found: "\(fmt(s)): \(advice)")
        }
        switch s.count {
        case 4 where s[3] == 1 && s[1] > 1 && s[2] > 1:
            throw refuse("this looks like one channels-last cube (D, H, W, 1); the network takes (N, 1, D, H, W): np.moveaxis(x, -1, 0)[None]")
        case 4: return [s[0], 1] + s[1...]
        case 5 where s[1] == 1: return s
        case 5 where s[4] == 1:
            throw refuse("this looks channels-last (N, D, H, W, 1); the network takes channels first: np.moveaxis(x, -1, 1)")
        case 5: throw refuse("\(s[1]) channels; the network takes one channel per cube")
        case 3: throw refuse("a single cube (D, H, W); add the batch axis: x[None] (or x[None, None])")
        default: throw refuse("rank \(s.count); give cubes as (N, D, H, W)")
        }
    }

    /// Reads a `.npy` of cubes as a network input.
    public static func readNPY(_ path: String, window: IntensityWindow? = nil) throws -> Tensor {
        try networkInput(NPY.read(path), file: path, window: window)
    }

    /// NaN and infinities in a float32 tensor: how many, and the index of the first.
    public static func nonFinite(_ t: Tensor) -> (count: Int, firstIndex: [Int])? {
        var count = 0, first = -1
        t.bytes.withUnsafeBytes { raw in
            let v = raw.bindMemory(to: UInt32.self)
            for i in 0..<v.count where v[i] & 0x7f80_0000 == 0x7f80_0000 {
                if first < 0 { first = i }
                count += 1
            }
        }
        guard count > 0 else { return nil }
        var index = [Int](repeating: 0, count: t.rank), rest = first
        for axis in stride(from: t.rank - 1, through: 0, by: -1) {
            index[axis] = rest % t.shape[axis]
            rest /= t.shape[axis]
        }
        return (count, index)
    }

    static func fmt(_ s: [Int]) -> String { "(" + s.map(String.init).joined(separator: ", ") + ")" }
}

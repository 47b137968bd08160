import GenesisModel

/// What a forward pass of this runtime allocates, estimated from the architecture, so that a
/// caller can size batch slices or refuse a batch before it starts.
///
/// Activations: the largest set of full-resolution maps alive at once is reached in the last
/// decoder level (skip 2b, up-convolution output 4b for the torch variant, block output 2b,
/// next block output 2b) with the input and lower levels around it: at most 9b + 4 float32
/// values per input voxel per cube (b = base width). Weights: the network's own copy, the
/// Winograd-transformed filters (up to 4x) and the loaded file's tensors: 6x the parameters.
/// Measured against peak RSS in BENCHMARKS.md (the estimate is an upper bound there).
public struct ForwardMemoryEstimate: Sendable, Equatable {
    /// Bytes that do not depend on the batch (weights and their transformed copies).
    public let fixedBytes: Int
    /// Bytes each cube in a batch adds.
    public let perCubeBytes: Int

    public init(architecture a: Architecture, depth: Int, height: Int, width: Int) {
        let voxels = depth.multipliedReportingOverflow(by: height).partialValue.multipliedReportingOverflow(by: width).partialValue
        let perVoxel = 4 * (9 * a.baseFilters + 4 + a.labels)
        let (perCube, o) = max(0, voxels).multipliedReportingOverflow(by: perVoxel)
        perCubeBytes = o ? Int.max : perCube
        fixedBytes = 6 * 4 * (a.trainableCount + a.statisticsCount)
    }

    /// Estimated peak for `cubes` cubes in one batch (saturating).
    public func bytes(cubes: Int) -> Int {
        let (b, o) = perCubeBytes.multipliedReportingOverflow(by: max(1, cubes))
        let (t, o2) = b.addingReportingOverflow(fixedBytes)
        return o || o2 ? Int.max : t
    }

    /// Cubes per slice so that a slice's activations stay within `budget` bytes (at least 1).
    public func cubesPerSlice(budget: Int, total: Int) -> Int {
        max(1, min(total, budget / max(1, perCubeBytes)))
    }
}

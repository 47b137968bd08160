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

    /// Any family's network: its measured bound when it has one (`activationValuesPerVoxel`: the
    /// Genesis U-Net's, as `init(architecture:...)`), else one derived from its description:
    /// the most float32 values alive at once when every node's output lives from its node to its
    /// last reader (`NetworkDescription.outputShapes`), plus the per-sample im2col columns of a
    /// strided or anisotropic convolution while it runs, and a quarter more for what the runtime
    /// holds besides. Weights: 6x the parameters, as for the Genesis U-Net.
    public init(_ a: any NetworkArchitecture, depth: Int, height: Int, width: Int) {
        if let perVoxel = a.activationValuesPerVoxel {
            let voxels = depth.multipliedReportingOverflow(by: height).partialValue.multipliedReportingOverflow(by: width).partialValue
            let (perCube, o) = max(0, voxels).multipliedReportingOverflow(by: 4 * perVoxel)
            perCubeBytes = o ? Int.max : perCube
        } else {
            let values = Self.peakValues(a.network, depth: depth, height: height, width: width)
            let (bytes, o) = values.multipliedReportingOverflow(by: 5)  // 4 bytes, and a quarter more
            perCubeBytes = o ? Int.max : bytes
        }
        fixedBytes = 6 * 4 * (a.trainableCount + a.statisticsCount)
    }

    /// Most float32 values one cube keeps alive during a forward pass of the description (saturating).
    static func peakValues(_ net: NetworkDescription, depth: Int, height: Int, width: Int) -> Int {
        let shapes = net.outputShapes(depth: depth, height: height, width: width)
        func count(_ s: [Int]) -> Int { s.reduce(1) { $0.multipliedReportingOverflow(by: max(0, $1)).overflow ? Int.max / 4 : $0 * max(0, $1) } }
        // Nodes that reach no output are not run (NetworkDescription.reachesOutput).
        let live = net.reachesOutput
        var lastRead = Array(net.nodes.indices)
        for (i, node) in net.nodes.enumerated() where live[i] { for j in node.inputs { lastRead[j] = max(lastRead[j], i) } }
        for o in net.outputs { lastRead[o] = net.nodes.count }
        var alive = 0, peak = 0
        for (i, node) in net.nodes.enumerated() where live[i] {
            alive = min(Int.max / 4, alive + count(shapes[i]))
            var workspace = 0
            if case let .conv(c) = node.operation, !(c.isIsotropic && c.kernel == 3 && c.stride == 1) {
                workspace = min(Int.max / 4, count(Array(shapes[i].dropFirst())) * c.inChannels * c.taps)
            }
            peak = max(peak, min(Int.max / 4, alive + workspace))
            for j in Set(node.inputs + [i]) where lastRead[j] == i { alive -= count(shapes[j]) }
        }
        return peak
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

/// Shapes and costs that follow from a description alone.
extension NetworkDescription {
    /// Every node's output (channels, depth, height, width) for one input of spatial size
    /// d x h x w (sides the network accepts: multiples of `spatialMultiples`).
    public func outputShapes(depth d: Int, height h: Int, width w: Int) -> [[Int]] {
        var shapes: [[Int]] = []
        for node in nodes {
            let first = node.inputs.first.map { shapes[$0] } ?? []
            let sides = Array(first.dropFirst())
            switch node.operation {
            case let .input(c): shapes.append([c, d, h, w])
            case let .conv(c): shapes.append([c.outChannels] + c.outputSides(sides))
            case let .convTranspose(c): shapes.append([c.outChannels] + c.transposedOutputSides(sides))
            case let .maxPool(s): shapes.append([first[0]] + sides.map { $0 / s })
            case let .upsampleNearest(f): shapes.append([first[0]] + sides.map { $0 * f })
            case .concat: shapes.append([node.inputs.reduce(0) { $0 + shapes[$1][0] }] + sides)
            case .globalAveragePool: shapes.append([first[0], 1, 1, 1])
            case let .dense(_, o): shapes.append([o, 1, 1, 1])
            default: shapes.append(first)
            }
        }
        return shapes
    }

    /// Forward FLOPs (multiply-add = 2) of the convolutions, transposed convolutions and dense
    /// layers for one input of spatial size d x h x w.
    public func forwardFLOPs(depth d: Int, height h: Int, width w: Int) -> Double {
        let shapes = outputShapes(depth: d, height: h, width: w)
        var flops = 0.0
        for (i, node) in nodes.enumerated() {
            let voxels = Double(shapes[i].dropFirst().reduce(1, *))
            switch node.operation {
            case let .conv(c):
                flops += 2 * voxels * Double(c.inChannels * c.outChannels * c.taps)
            case let .convTranspose(c):
                // Every input voxel meets every tap once: output voxels x in x out when kernel = stride.
                let inputVoxels = Double(shapes[node.inputs[0]].dropFirst().reduce(1, *))
                flops += 2 * inputVoxels * Double(c.inChannels * c.outChannels * c.taps)
            case let .dense(i, o):
                flops += 2 * Double(i * o)
            default:
                break
            }
        }
        return flops
    }
}

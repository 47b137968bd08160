import Runtime3D
import XCTest

/// Conv3D's backward on every algorithm path against central differences (h = 1e-4) of the
/// float64 reference forward (`Reference.conv`), on small seeded shapes: several input parts
/// (the decoder's concatenation), one read through nearest upsampling, borders included
/// (every sampled index set holds the first and last element). The loss is sum(r * y) with
/// seeded r, so dLoss/dy = r. The float32 forward is first checked against the float64 one.
///
/// Tolerances, relative to the largest gradient entry of the tensor, about 3x the measured:
/// input gradient 4e-6 (Winograd runs it like the forward; measured 1.3e-6 with F(4x4, 3x3),
/// 2e-7 with im2col), weight 4e-7 for im2col (float32 GEMMs over tiles; measured 1.4e-7) and
/// 4e-6 for 2-D Winograd's transposed identity (measured 1.5e-6 with m = 4), bias 6e-7
/// (measured 2.6e-7); forward 5e-5 absolute as in ConvolutionTests.
final class ConvolutionBackwardTests: XCTestCase {
    /// Every algorithm, the 2-D one with both height tiles; thresholds lowered so the small
    /// channel counts here take the Winograd paths, in the forward and the flipped backward.
    private let paths: [(Conv3D.Algorithm, ConvolutionTuning)] = [
        (.im2col, ConvolutionTuning(winograd2DMinChannels: 1, winograd2DMinTiles: 1)),
        (.winograd, ConvolutionTuning(winograd2DMinChannels: 1, winograd2DMinTiles: 1)),
        (.winograd2D, ConvolutionTuning(winograd2DHeightTile: 2, winograd2DMinChannels: 1, winograd2DMinTiles: 1, planeStacking: false)),
        (.winograd2D, ConvolutionTuning(winograd2DHeightTile: 4, winograd2DMinChannels: 1, winograd2DMinTiles: 1)),
        // Small tiles: many chunks per sample and per-worker accumulators that each add.
        (.im2col, ConvolutionTuning(tileFloats: 27 * 3 * 8 * 2, minTileColumns: 1)),
        (.winograd2D, ConvolutionTuning(winograd2DMinChannels: 1, winograd2DMinTiles: 1, minTileColumns: 1)),
    ]

    private struct Part { let shape: [Int]; let upsampled: Bool }

    private func check(_ parts: [Part], out: Int, kernel: Int, seed: UInt64, paths: [(Conv3D.Algorithm, ConvolutionTuning)],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let maps = try parts.enumerated().map { try randomMap($1.shape, seed: seed + UInt64($0)) }
        let inputs = zip(parts, maps).map { $0.upsampled ? ConvInput.upsampled($1) : .map($1) }
        let cin = parts.reduce(0) { $0 + $1.shape[1] }
        var r = SeededValues(seed: seed + 50)
        let w = r.array(out * cin * kernel * kernel * kernel, scale: 0.5), b = r.array(out)
        let (wd, bd) = (w.map(Double.init), b.map(Double.init))

        func referenceLoss(_ grids: [Grid], _ w: [Double], _ b: [Double], _ rr: [Double]) -> Double {
            let full = zip(parts, grids).map { $0.upsampled ? Reference.upsample($1) : $1 }
            return Reference.dot(Reference.conv(Reference.concat(full), w, b, out: out, k: kernel), rr)
        }
        let grids = maps.map(Grid.init)
        let full = zip(parts, grids).map { $0.upsampled ? Reference.upsample($1) : $1 }
        let expectedY = Reference.conv(Reference.concat(full), wd, bd, out: out, k: kernel)
        let rf = r.array(expectedY.data.count)
        let rr = rf.map(Double.init)
        let dY = try FeatureMap(shape: expectedY.shape, data: rf)

        // Central differences of the float64 loss, shared by every path.
        var fdInputs: [[(Int, Double)]] = []
        for (p, g) in grids.enumerated() {
            fdInputs.append(sampleIndices(g.data.count, 24, seed: seed + 60 + UInt64(p)).map { i in
                (i, Reference.centralDifference(g.data, i) { v in
                    var gs = grids
                    gs[p].data = v
                    return referenceLoss(gs, wd, bd, rr)
                })
            })
        }
        let fdWeight = sampleIndices(w.count, 24, seed: seed + 70).map { i in (i, Reference.centralDifference(wd, i) { referenceLoss(grids, $0, bd, rr) }) }
        let fdBias = (0..<out).map { i in (i, Reference.centralDifference(bd, i) { referenceLoss(grids, wd, $0, rr) }) }

        for (algorithm, tuning) in paths {
            let label = "\(parts.map(\.shape)) k\(kernel) \(algorithm) m=\(tuning.winograd2DHeightTile) tile \(tuning.tileFloats)"
            let conv = try Conv3D(weight: w, bias: b, outChannels: out, inChannels: cin, kernel: kernel, algorithm: algorithm, tuning: tuning)
            let y = try conv.forward(inputs, threads: 2)
            XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expectedY.data.map(Float.init)), 5e-5, "forward \(label)", file: file, line: line)
            for threads in [1, 2] {
                let g = try conv.backward(inputs, outputGradient: dY, threads: threads)
                XCTAssertEqual(g.inputs.map(\.shape), maps.map(\.shape), file: file, line: line)
                for (p, fd) in fdInputs.enumerated() {
                    let err = relativeError(fd.map { Double(g.inputs[p].data[$0.0]) }, fd.map(\.1))
                    XCTAssertLessThanOrEqual(err, 4e-6, "input \(p) \(label) threads \(threads): relative error \(err)", file: file, line: line)
                }
                let errW = relativeError(fdWeight.map { Double(g.weight[$0.0]) }, fdWeight.map(\.1))
                // 2-D Winograd computes the weight gradient by its transposed identity (where
                // in >= 4 and the shape tiles), with the forward's rounding.
                XCTAssertLessThanOrEqual(errW, algorithm == .winograd2D ? 4e-6 : 4e-7, "weight \(label): relative error \(errW)", file: file, line: line)
                let errB = relativeError(fdBias.map { Double(g.bias[$0.0]) }, fdBias.map(\.1))
                XCTAssertLessThanOrEqual(errB, 6e-7, "bias \(label): relative error \(errB)", file: file, line: line)
                if threads == 2 { print("conv backward \(label): input \(fdInputs.indices.map { p in relativeError(fdInputs[p].map { Double(g.inputs[p].data[$0.0]) }, fdInputs[p].map(\.1)) }), weight \(errW), bias \(errB)") }
            }
        }
    }

    /// One part, shapes that tile for every Winograd form (height % 4, width % 4), in = 4 (the
    /// fewest the Winograd paths take).
    func testKernel3SinglePartEveryPath() throws {
        try check([Part(shape: [2, 4, 4, 4, 8], upsampled: false)], out: 5, kernel: 3, seed: 100, paths: paths)
    }

    /// One sample (batch 1), as training at batch 1 runs: two threads split the transform
    /// points of the forward, the input gradient and the weight gradient
    /// (Winograd2D+PointParallel). Checked against central differences like the rest, and bit
    /// for bit against one thread (the same GEMMs, whichever worker runs them).
    func testKernel3OneSampleSplitsThePointsOverTheThreads() throws {
        try check([Part(shape: [1, 4, 4, 4, 8], upsampled: false)], out: 5, kernel: 3, seed: 150, paths: paths)
        var r = SeededValues(seed: 151)
        let x = try FeatureMap(shape: [1, 4, 4, 4, 8], data: r.array(512))
        let dY = try FeatureMap(shape: [1, 5, 4, 4, 8], data: r.array(640))
        for tile in [2, 4] {
            let conv = try Conv3D(weight: r.array(5 * 4 * 27), bias: r.array(5), outChannels: 5, inChannels: 4, kernel: 3, algorithm: .winograd2D,
                                  tuning: ConvolutionTuning(winograd2DHeightTile: tile, winograd2DBackwardHeightTile: tile, winograd2DMinChannels: 1, winograd2DMinTiles: 1))
            let one = try conv.backward([.map(x)], outputGradient: dY, threads: 1), two = try conv.backward([.map(x)], outputGradient: dY, threads: 2)
            XCTAssertEqual(one.weight, two.weight, "m=\(tile)")
            XCTAssertEqual(one.inputs[0].data, two.inputs[0].data, "m=\(tile)")
            XCTAssertEqual(try conv.forward([.map(x)], threads: 1).data, try conv.forward([.map(x)], threads: 2).data, "m=\(tile)")
        }
    }

    /// The decoder's first block: an upsampled part first, then the skip (materialised for
    /// im2col, read through the upsampling by Winograd and by the weight gradient's fill).
    func testKernel3UpsampledAndSkipParts() throws {
        try check([Part(shape: [2, 2, 2, 2, 4], upsampled: true), Part(shape: [2, 3, 4, 4, 8], upsampled: false)],
                  out: 4, kernel: 3, seed: 200, paths: paths)
    }

    /// Shapes no Winograd form tiles (odd height, width 6): every algorithm falls back to im2col.
    func testKernel3ShapeThatDoesNotTile() throws {
        try check([Part(shape: [1, 2, 3, 5, 6], upsampled: false), Part(shape: [1, 1, 3, 5, 6], upsampled: false)],
                  out: 4, kernel: 3, seed: 300, paths: [paths[0], paths[3]])
    }

    /// The im2col weight gradient split over blocks of 16 input channels (20 here: a full block
    /// and a ragged one, across an upsampled part and a skip), with row chunks of one line.
    func testKernel3ChannelBlockedWeightGradient() throws {
        let tuning = ConvolutionTuning(tileFloats: 16 * 27 * 4, channelBlockedWeightGradientMinimum: 0)
        try check([Part(shape: [2, 12, 1, 2, 2], upsampled: true), Part(shape: [2, 8, 2, 4, 4], upsampled: false)],
                  out: 3, kernel: 3, seed: 350, paths: [(.im2col, tuning)])
    }

    /// The final 1x1x1 convolution, on two parts.
    func testKernel1TwoParts() throws {
        try check([Part(shape: [2, 3, 2, 4, 4], upsampled: false), Part(shape: [2, 2, 2, 4, 4], upsampled: false)],
                  out: 3, kernel: 1, seed: 400, paths: [paths[0]])
    }

    /// Not asking for the input gradient (the network's first block) leaves it out and keeps
    /// the weight and bias gradients bit-identical.
    func testInputGradientCanBeSkipped() throws {
        let x = try randomMap([1, 2, 4, 4, 4], seed: 500)
        var r = SeededValues(seed: 501)
        let conv = try Conv3D(weight: r.array(3 * 2 * 27), bias: r.array(3), outChannels: 3, inChannels: 2, kernel: 3)
        let dY = try randomMap([1, 3, 4, 4, 4], seed: 502)
        let all = try conv.backward([.map(x)], outputGradient: dY, threads: 2)
        let some = try conv.backward([.map(x)], outputGradient: dY, inputGradient: false, threads: 2)
        XCTAssertTrue(some.inputs.isEmpty)
        XCTAssertEqual(all.inputs.count, 1)
        XCTAssertEqual(some.weight, all.weight)
        XCTAssertEqual(some.bias, all.bias)
        XCTAssertThrowsError(try conv.backward([.map(x)], outputGradient: try randomMap([1, 2, 4, 4, 4], seed: 503)))
    }
}

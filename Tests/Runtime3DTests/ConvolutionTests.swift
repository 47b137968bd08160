import Runtime3D
import XCTest

/// Convolutions against direct loops written from the definitions.
final class ConvolutionTests: XCTestCase {
    /// Every algorithm, the 2-D one with both height tiles.
    private let algorithmsAndHeightTiles: [(Conv3D.Algorithm, Int)] = [(.im2col, 4), (.winograd, 4), (.winograd2D, 2), (.winograd2D, 4)]

    /// Runs `body` with 2-D Winograd's plane stacking off, then on, in `tuning`.
    private func withBothStackings(_ tuning: ConvolutionTuning, _ body: (ConvolutionTuning) throws -> Void) rethrows {
        for stacking in [false, true] {
            var t = tuning
            t.planeStacking = stacking
            try body(t)
        }
    }

    /// Direct "same" 3D convolution (cross-correlation, as PyTorch and Keras compute it).
    private func naiveConv(_ x: FeatureMap, _ w: [Float], _ b: [Float], cout: Int, k: Int) -> [Float] {
        let (n, cin, d, h, wd) = (x.batch, x.channels, x.depth, x.height, x.width)
        let pad = k / 2
        var out = [Float](repeating: 0, count: n * cout * d * h * wd)
        for s in 0..<n { for o in 0..<cout { for z in 0..<d { for y in 0..<h { for xx in 0..<wd {
            var acc = Double(b[o])
            for i in 0..<cin { for a in 0..<k { for bb in 0..<k { for c in 0..<k {
                let (sz, sy, sx) = (z + a - pad, y + bb - pad, xx + c - pad)
                guard sz >= 0, sz < d, sy >= 0, sy < h, sx >= 0, sx < wd else { continue }
                let xv = x.data[(((s * cin + i) * d + sz) * h + sy) * wd + sx]
                acc += Double(xv) * Double(w[(((o * cin + i) * k + a) * k + bb) * k + c])
            } } } }
            out[(((s * cout + o) * d + z) * h + y) * wd + xx] = Float(acc)
        } } } } }
        return out
    }

    /// Reference: the direct loop (Double accumulation). Tolerance 1e-5: sums of 27 * cin
    /// products of values in [-1, 1] in float32.
    func testConv3x3x3MatchesDirectLoop() throws {
        let x = try randomMap([2, 3, 4, 5, 6], seed: 1)
        var r = SeededValues(seed: 2)
        let w = r.array(4 * 3 * 27), b = r.array(4)
        let conv = try Conv3D(weight: w, bias: b, outChannels: 4, inChannels: 3, kernel: 3)
        let expected = naiveConv(x, w, b, cout: 4, k: 3)
        for threads in [1, 2] {
            let y = try conv.forward(x, threads: threads)
            XCTAssertEqual(y.shape, [2, 4, 4, 5, 6])
            XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected), 1e-5, "threads \(threads)")
        }
    }

    /// Every algorithm against the direct loop, on two inputs read as their concatenation:
    /// im2col; Winograd F(4, 3) along width (in >= 4, width % 4 == 0); 2-D Winograd F(2x4, 3x3)
    /// and F(4x4, 3x3) (height % 2 or 4 == 0 too; channel threshold lowered to 1 here), and
    /// their fallbacks on shapes that do not tile (odd height, width 6). Tolerance 5e-5: the
    /// Winograd transforms carry coefficients up to 8 per axis (64 in 2-D), so rounding grows
    /// beyond im2col's (~1e-6) on sums of magnitude ~10.
    func testEveryAlgorithmMatchesDirectLoop() throws {
        let shapes: [[Int]] = [[2, 3, 3, 4, 8], [1, 3, 4, 2, 4], [1, 3, 2, 6, 12], [1, 3, 3, 3, 8], [1, 3, 2, 4, 6], [1, 3, 2, 8, 4]]
        for (index, shape) in shapes.enumerated() {
            let seed = UInt64(30 + index)
            let a = try randomMap(shape, seed: seed)
            var skipShape = shape
            skipShape[1] = 2
            let b2 = try randomMap(skipShape, seed: seed + 100)
            var r = SeededValues(seed: seed + 200)
            let w = r.array(6 * 5 * 27), b = r.array(6)
            let expected = naiveConv(try FeatureMap.concatenated([a, b2]), w, b, cout: 6, k: 3)
            for (algorithm, tile) in algorithmsAndHeightTiles {
                try withBothStackings(ConvolutionTuning(winograd2DHeightTile: tile, winograd2DMinChannels: 1, winograd2DMinTiles: 1)) { tuning in
                    let conv = try Conv3D(weight: w, bias: b, outChannels: 6, inChannels: 5, kernel: 3, algorithm: algorithm, tuning: tuning)
                    var outputs: [[Float]] = []
                    for threads in [1, 2] {
                        let y = try conv.forward([a, b2], threads: threads)
                        XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected), 5e-5, "\(shape) \(algorithm) m=\(tile) stacking \(tuning.planeStacking) threads \(threads)")
                        outputs.append(y.data)
                    }
                    // Two threads split a lone sample's transform points (Winograd2D+PointParallel),
                    // not its planes: the same GEMMs as one thread, so the same bits.
                    // (Shapes it does not tile fall back to other paths, split otherwise.)
                    if algorithm == .winograd2D, tuning.planeStacking, shape[3] % tile == 0, shape[4] % 4 == 0 {
                        XCTAssertEqual(outputs[0], outputs[1], "\(shape) m=\(tile): 1 and 2 threads differ")
                    }
                }
            }
        }
    }

    /// A part read through 2x nearest upsampling gives exactly the convolution of the
    /// materialised upsampling (the same values enter the same arithmetic: tolerance 0), on
    /// every algorithm and on a shape no Winograd form tiles (width 6: materialised fallback).
    func testUpsampledPartEqualsMaterialisedUpsampling() throws {
        for lowShape in [[2, 4, 2, 2, 4], [2, 4, 2, 3, 4], [1, 4, 1, 2, 3]] {
            let low = try randomMap(lowShape, seed: 40)
            let skip = try randomMap([lowShape[0], 1, 2 * lowShape[2], 2 * lowShape[3], 2 * lowShape[4]], seed: 41)
            let up = try Resampling.upsampleNearest2(low)
            var r = SeededValues(seed: 42)
            let w = r.array(3 * 5 * 27), b = r.array(3)
            for (algorithm, heightTile) in algorithmsAndHeightTiles {
                try withBothStackings(ConvolutionTuning(winograd2DHeightTile: heightTile, winograd2DMinChannels: 1, winograd2DMinTiles: 1)) { tuning in
                    let conv = try Conv3D(weight: w, bias: b, outChannels: 3, inChannels: 5, kernel: 3, algorithm: algorithm, tuning: tuning)
                    let fused = try conv.forward([ConvInput.upsampled(low), .map(skip)], threads: 2)
                    let materialised = try conv.forward([up, skip], threads: 2)
                    XCTAssertEqual(maxAbsDifference(fused.data, materialised.data), 0, "\(lowShape) \(algorithm) m=\(heightTile) stacking \(tuning.planeStacking)")
                }
            }
        }
    }

    /// Small tiles force many chunks per sample, chunks that start and end inside a plane and
    /// a ragged last one, on every algorithm (2-D threshold lowered to 1). Reference: the direct
    /// loop; tolerance 5e-5 as above.
    func testTinyTilesMatchDirectLoop() throws {
        let x = try randomMap([1, 5, 3, 8, 8], seed: 3)
        var r = SeededValues(seed: 4)
        let w = r.array(3 * 5 * 27), b = r.array(3)
        let expected = naiveConv(x, w, b, cout: 3, k: 3)
        for (algorithm, heightTile) in algorithmsAndHeightTiles {
            // im2col: 2 rows of 8 per tile (24 rows); 2-D, m = 2 (4 bands per plane): 5 or 4
            // bands per chunk; m = 4 (2 bands per plane): 3 bands, so chunks cross planes.
            for tile in [5 * 27 * 8 * 2, 24 * 15 * 2 * 5, 36 * 15 * 2 * 3] {
                let tuning = ConvolutionTuning(winograd2DHeightTile: heightTile, winograd2DMinChannels: 1, winograd2DMinTiles: 1, tileFloats: tile, minTileColumns: 1)
                // Plane stacking ignores the tile budget: one or two planes per chunk here.
                try withBothStackings(tuning) { tuning in
                    let conv = try Conv3D(weight: w, bias: b, outChannels: 3, inChannels: 5, kernel: 3, algorithm: algorithm, tuning: tuning)
                    let y = try conv.forward(x, threads: 2)
                    XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected), 5e-5, "\(algorithm) m=\(heightTile) tile \(tile) stacking \(tuning.planeStacking)")
                }
            }
        }
    }

    /// The decoder's concatenation read in place equals convolving the materialised
    /// concatenation (same arithmetic order: bit-identical), and both match the direct loop
    /// (tolerance 1e-5 as above).
    func testConvOfTwoInputsEqualsConvOfConcatenation() throws {
        let up = try randomMap([2, 2, 4, 4, 2], seed: 5)
        let skip = try randomMap([2, 1, 4, 4, 2], seed: 6)
        let cat = try FeatureMap.concatenated([up, skip])
        XCTAssertEqual(cat.shape, [2, 3, 4, 4, 2])
        // Sample 1, channel 2 is skip's sample 1, channel 0.
        XCTAssertEqual(Array(cat.data[(1 * 3 + 2) * 32..<(1 * 3 + 3) * 32]), Array(skip.data[32..<64]))
        var r = SeededValues(seed: 7)
        let w = r.array(2 * 3 * 27), b = r.array(2)
        let conv = try Conv3D(weight: w, bias: b, outChannels: 2, inChannels: 3, kernel: 3)
        let parts = try conv.forward([up, skip], threads: 2)
        XCTAssertEqual(parts.data, try conv.forward(cat, threads: 2).data)
        XCTAssertLessThanOrEqual(maxAbsDifference(parts.data, naiveConv(cat, w, b, cout: 2, k: 3)), 1e-5)
    }

    /// 1x1x1 convolution of two inputs against the direct loop; tolerance 1e-5.
    func testConv1x1x1MatchesDirectLoop() throws {
        let a = try randomMap([2, 3, 2, 4, 4], seed: 8)
        let b2 = try randomMap([2, 2, 2, 4, 4], seed: 9)
        var r = SeededValues(seed: 10)
        let w = r.array(3 * 5), b = r.array(3)
        let conv = try Conv3D(weight: w, bias: b, outChannels: 3, inChannels: 5, kernel: 1)
        let y = try conv.forward([a, b2], threads: 2)
        let expected = naiveConv(try FeatureMap.concatenated([a, b2]), w, b, cout: 3, k: 1)
        XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected), 1e-5)
    }

    /// Hand-worked: an all-ones 3x3x3 kernel on an all-ones 3x3x3 volume counts the in-volume
    /// neighbours: 27 at the centre, 8 at a corner, 12 at an edge, 18 at a face centre (+ bias 0.5).
    func testConv3x3x3CountsNeighboursByHand() throws {
        let x = try FeatureMap(shape: [1, 1, 3, 3, 3], data: [Float](repeating: 1, count: 27))
        let conv = try Conv3D(weight: [Float](repeating: 1, count: 27), bias: [0.5], outChannels: 1, inChannels: 1, kernel: 3)
        let y = try conv.forward(x, threads: 1).data
        XCTAssertEqual(y[13], 27.5)                  // centre (1,1,1)
        XCTAssertEqual(y[0], 8.5)                    // corner (0,0,0)
        XCTAssertEqual(y[1], 12.5)                   // edge (0,0,1)
        XCTAssertEqual(y[4], 18.5)                   // face centre (0,1,1)
    }

    /// Direct loop for the transposed convolution (kernel 2, stride 2, weight (in, out, 2, 2, 2));
    /// tolerance 1e-5 (sums of cin products).
    func testConvTransposeMatchesDirectLoop() throws {
        let x = try randomMap([2, 3, 2, 3, 2], seed: 11)
        var r = SeededValues(seed: 12)
        let w = r.array(3 * 4 * 8), b = r.array(4)
        let t = try ConvTranspose3D(weight: w, bias: b, inChannels: 3, outChannels: 4)
        let y = try t.forward(x, threads: 2)
        XCTAssertEqual(y.shape, [2, 4, 4, 6, 4])
        var expected = [Float](repeating: 0, count: y.data.count)
        for s in 0..<2 { for o in 0..<4 { for z in 0..<4 { for yy in 0..<6 { for xx in 0..<4 {
            var acc = b[o]
            for i in 0..<3 {
                let xv = x.data[(((s * 3 + i) * 2 + z / 2) * 3 + yy / 2) * 2 + xx / 2]
                acc += xv * w[((i * 4 + o) * 2 + z % 2) * 4 + (yy % 2) * 2 + xx % 2]
            }
            expected[(((s * 4 + o) * 4 + z) * 6 + yy) * 4 + xx] = acc
        } } } } }
        XCTAssertLessThanOrEqual(maxAbsDifference(y.data, expected), 1e-5)
    }

    func testWrongChannelCountIsRefused() throws {
        let conv = try Conv3D(weight: [Float](repeating: 0, count: 2 * 27), bias: [0, 0], outChannels: 2, inChannels: 1, kernel: 3)
        XCTAssertThrowsError(try conv.forward(try randomMap([1, 2, 2, 2, 2], seed: 1))) { e in
            XCTAssertEqual(e as? RuntimeError, .badInput(reason: "conv3d: input has 2 channels, expected 1"))
        }
    }
}

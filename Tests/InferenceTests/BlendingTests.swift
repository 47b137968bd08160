import Foundation
import GenesisModel
import Inference
import Runtime3D
import XCTest

/// The streaming blender against exact expectations (identity, constant, one window) and
/// against the plain whole-volume `ReferenceBlender`.
final class BlendingTests: XCTestCase {
    func testIdentityNetworkReturnsTheInputForAnyOverlap() throws {
        for (shape, overlap) in [([20, 17, 23], 0.0), ([20, 17, 23], 0.25), ([20, 17, 23], 0.5), ([13, 9, 30], 0.75), ([5, 17, 11], 0.5)] {
            let voxels = seededVoxels(shape.reduce(1, *), seed: 1)
            let out = try blend(voxels, shape: shape, patch: [8, 8, 8], overlap: overlap, network: PatchNetwork(channels: 1) { x, _ in x })
            // sum(x w) / sum(w) = x up to float rounding: measured at most 7.2e-7 (6 ulps of values below 1).
            XCTAssertLessThan(maxAbsDifference(out, voxels), 1e-6, "shape \(shape) overlap \(overlap)")
        }
    }

    func testConstantNetworkReturnsTheConstant() throws {
        let shape = [19, 11, 26]
        let out = try blend(seededVoxels(shape.reduce(1, *), seed: 2), shape: shape, patch: [8, 8, 16], overlap: 0.6,
                            network: PatchNetwork(channels: 2) { x, s in [Float](repeating: 0.37, count: x.count * 2) })
        XCTAssertEqual(out.count, 2 * shape.reduce(1, *))
        XCTAssertLessThan(out.map { abs($0 - 0.37) }.max()!, 5e-7)  // measured 2.4e-7 (4 ulps)
    }

    /// A 2-channel "network" whose output depends on the position inside the window, so every
    /// weight matters; compared with the Double whole-volume reference at float precision.
    func testMatchesWholeVolumeReference() throws {
        let network: ([Float], [Int]) -> [Float] = { x, s in
            let (n, d, h, w) = (s[0], s[2], s[3], s[4])
            var y = [Float](repeating: 0, count: n * 2 * d * h * w)
            for b in 0..<n { for a in 0..<d { for c in 0..<h { for e in 0..<w {
                let p = (a * h + c) * w + e, v = x[b * d * h * w + p]
                y[(b * 2) * d * h * w + p] = v * (1 + 0.05 * Float(e)) + 0.01 * Float(a)
                y[(b * 2 + 1) * d * h * w + p] = sin(v + 0.1 * Float(c))
            } } } }
            return y
        }
        for (shape, patch, overlap) in [([21, 14, 27], [8, 8, 8], 0.5), ([12, 30, 9], [8, 16, 16], 0.25), ([6, 10, 40], [8, 8, 8], 0.6)] {
            let voxels = seededVoxels(shape.reduce(1, *), seed: 3)
            let ours = try blend(voxels, shape: shape, patch: patch, overlap: overlap, batch: 3, network: PatchNetwork(channels: 2, predict: network))
            let reference = ReferenceBlender.blend(voxels: voxels, shape: shape, patch: patch, overlap: overlap, channels: 2, network: network)
            // Float32 sums of a few weighted terms against Double: measured at most 7.2e-7 on values up to ~1.4.
            XCTAssertLessThan(maxAbsDifference(ours, reference), 1.5e-6, "shape \(shape) patch \(patch) overlap \(overlap)")
        }
    }

    /// A scan the size of one patch: one forward pass of the real network, on the scan transposed
    /// to (D, H, W) = (i, j, k), and the output transposed back: equal to float rounding
    /// ((y * w) / w is y within an ulp or so).
    func testOnePatchScanIsOneForwardPass() throws {
        for labels in [1, 3] {
            let arch = Architecture(variant: .keras, baseFilters: 2, labels: labels)
            let net = try GenesisNetwork(architecture: arch, weights: Initialization.heNormal(arch, seed: 4))
            let shape = [16, 8, 24]
            let voxels = seededVoxels(shape.reduce(1, *), seed: 5)
            var calls = 0
            let out = try blend(voxels, shape: shape, patch: shape, overlap: 0.5, network: PatchNetwork(channels: labels) { x, s in
                calls += 1
                return try net.forward(x, shape: s, bn: .inference, threads: 1).values
            })
            XCTAssertEqual(calls, 1)
            var transposed = [Float](repeating: 0, count: voxels.count)
            for i in 0..<16 { for j in 0..<8 { for k in 0..<24 { transposed[(i * 8 + j) * 24 + k] = voxels[(k * 8 + j) * 16 + i] } } }
            let y = try net.forward(transposed, shape: [1, 1] + shape, bn: .inference, threads: 1).values
            var expected = [Float](repeating: 0, count: y.count)
            for c in 0..<labels { for i in 0..<16 { for j in 0..<8 { for k in 0..<24 {
                expected[c * voxels.count + (k * 8 + j) * 16 + i] = y[c * voxels.count + (i * 8 + j) * 24 + k]
            } } } }
            XCTAssertLessThan(maxAbsDifference(out, expected), 2e-7, "labels \(labels)")  // measured 6e-8
        }
    }

    /// Slabs leave in k order, each once, while windows are still running, and never more than
    /// patchK slabs' sums are held: 8 x (1 value + 1 weight) x 12 x 10 x 4 bytes = 7680 bytes,
    /// against 12 x 10 x 50 x 2 x 4 = 48000 for whole-volume sums.
    func testSlabsStreamInOrderWithinTheBound() throws {
        let shape = [12, 10, 50]
        let plan = try WindowPlan(shape: shape, patch: [8, 8, 8], overlap: 0.5)
        let blender = try SlidingWindowBlender(plan: plan, channels: 1)
        let sink = try InMemorySink(shape: shape, channels: 1)
        var calls = 0, callsAtFirstSlab = -1
        let recording = RecordingSink(inner: sink) { if callsAtFirstSlab < 0 { callsAtFirstSlab = calls } }
        try blender.run(source: try InMemoryVolume(shape: shape, voxels: seededVoxels(6000, seed: 6)), network: PatchNetwork(channels: 1) { x, _ in
            calls += 1
            return x
        }, sink: recording)
        XCTAssertEqual(sink.order, Array(0..<50))
        XCTAssertEqual(calls, plan.windowCount)
        // Step 4: i 12 -> 0, 4; j 10 -> 0, 2 (4 moved back by 2); k 50 -> 0, 4, ..., 40, 42 (12).
        XCTAssertEqual(plan.starts[1], [0, 2])
        XCTAssertEqual(plan.windowCount, 2 * 2 * 12)
        XCTAssertEqual(callsAtFirstSlab, 4, "slab 0 is final after the first k group of 2 x 2 windows")
        XCTAssertEqual(blender.peakOpenSlabs, 8)
        XCTAssertEqual(blender.peakAccumulatorBytes, 7680)
    }

    func testWrongNetworkOutputIsRefused() throws {
        let shape = [8, 8, 8]
        XCTAssertThrowsError(try blend(seededVoxels(512, seed: 7), shape: shape, patch: shape, overlap: 0.5,
                                       network: PatchNetwork(channels: 1) { x, _ in Array(x.dropLast()) })) { e in
            XCTAssertEqual(e as? InferenceError, .badPrediction(expected: 512, found: 511))
        }
    }

    // MARK: helpers

    private func blend(_ voxels: [Float], shape: [Int], patch: [Int], overlap: Double, batch: Int = 1, network: PatchNetwork) throws -> [Float] {
        let plan = try WindowPlan(shape: shape, patch: patch, overlap: overlap)
        let blender = try SlidingWindowBlender(plan: plan, channels: network.channels, batchSize: batch)
        let sink = try InMemorySink(shape: shape, channels: network.channels)
        try blender.run(source: try InMemoryVolume(shape: shape, voxels: voxels), network: network, sink: sink)
        XCTAssertEqual(sink.order, Array(0..<shape[2]))
        return sink.values
    }
}

/// Passes slabs on, telling the test when each arrives.
final class RecordingSink: SlabSink {
    let inner: SlabSink
    let onAppend: () -> Void
    init(inner: SlabSink, onAppend: @escaping () -> Void) {
        self.inner = inner
        self.onAppend = onAppend
    }

    func append(k: Int, channels: Int, slab: UnsafeBufferPointer<Float>) throws {
        onAppend()
        try inner.append(k: k, channels: channels, slab: slab)
    }
}

/// SplitMix64 values in [0, 1).
func seededVoxels(_ n: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<n).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 24)
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

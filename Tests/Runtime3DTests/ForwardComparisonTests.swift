import GenesisModel
@testable import Runtime3D
import Tensors
import XCTest

/// The conversion proof: its cube rule, and that it sees a kernel stored in the wrong layout at
/// the top and at the bottom of the network (what a broken name or layout map would do).
final class ForwardComparisonTests: XCTestCase {
    func testProofCubeIsTheRecordedInputOnlyWhenSmallAndPoolable() {
        XCTAssertEqual(ForwardComparison.cubeSpatial(for: nil), [16, 16, 16])
        XCTAssertEqual(ForwardComparison.cubeSpatial(for: [1, 64, 64, 32]), [16, 16, 16])  // official: too large
        XCTAssertEqual(ForwardComparison.cubeSpatial(for: [1, 32, 32, 16]), [32, 32, 16])
        XCTAssertEqual(ForwardComparison.cubeSpatial(for: [1, 24, 16, 16]), [24, 16, 16])
        XCTAssertEqual(ForwardComparison.cubeSpatial(for: [1, 8, 8, 8]), [16, 16, 16])      // bottom side would be 1
        XCTAssertEqual(ForwardComparison.cubeSpatial(for: [1, 20, 16, 16]), [16, 16, 16])   // not a multiple of 8
        // Sides from a hostile file must not overflow the volume product (it used to trap).
        XCTAssertEqual(ForwardComparison.cubeSpatial(for: [1, 4_000_000_000_000_000_000, 4_000_000_000_000_000_000, 16]), [16, 16, 16])
        XCTAssertEqual(ForwardComparison.cubeSpatial(for: [1, 16]), [16, 16, 16])
    }

    func testProofSeesAKernelWithSwappedSpatialAxesAtEveryDepth() throws {
        let arch = Architecture(variant: .keras, baseFilters: 4, labels: 1)
        let store = seededStore(arch, seed: 21)
        let reference = try GenesisNetwork(architecture: arch, weights: store, bnEpsilon: 1e-3, algorithm: .im2col)
        // The first convolution (fed by the cube) and the last of the bottom level (2x2x2 here).
        for name in ["down_tr64.ops.0.conv1.weight", "down_tr512.ops.1.conv1.weight"] {
            var broken = store
            broken[name] = store[name]!.permuted([0, 1, 4, 3, 2])  // depth and width exchanged
            let b = try GenesisNetwork(architecture: arch, weights: broken, bnEpsilon: 1e-3, algorithm: .im2col)
            let r = try ForwardComparison.compare(reference, b)
            XCTAssertEqual(r.cubeShape, [1, 1, 16, 16, 16])
            for mode in BatchNormMode.allCases {
                XCTAssertGreaterThan(r.maxAbsDifference[mode] ?? 0, 1e-5, "\(name), BN \(mode)")
            }
            if name.hasPrefix("down_tr512") {
                // Why 16: on an 8^3 cube the bottom level is 1x1x1, only the centre tap meets
                // data, and the swap (which keeps the centre) goes unseen.
                XCTAssertEqual(try ForwardComparison.compare(reference, b, spatial: [8, 8, 8]).worst, 0)
            }
        }
        // And the same weights agree exactly: the proof's zero is a real zero.
        let same = try ForwardComparison.compare(reference, try GenesisNetwork(architecture: arch, weights: store, bnEpsilon: 1e-3, algorithm: .im2col))
        XCTAssertEqual(same.worst, 0)
    }
}

/// The Winograd filter transform keeps an infinite weight infinite (it skips the transform's
/// zero coefficients, as 0 x inf is NaN): such a file already fails `verify`, but `run` should
/// not invent NaNs where the arithmetic of the definition gives infinities.
final class WinogradFilterTests: XCTestCase {
    func testInfiniteWeightGivesNoNaNFilters() {
        var w = [Float](repeating: 0.5, count: 2 * 8 * 27)
        w[13] = .infinity
        for heightTile in [2, 4] {
            let u = Winograd2D(weight: w, outChannels: 2, inChannels: 8, heightTile: heightTile)
            XCTAssertFalse(u.filters.contains { $0.isNaN }, "height tile \(heightTile)")
            XCTAssertTrue(u.filters.contains { $0 == .infinity }, "height tile \(heightTile)")
        }
    }
}

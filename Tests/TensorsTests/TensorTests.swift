import XCTest
@testable import Tensors

final class TensorTests: XCTestCase {
    func testPermuteMatchesNumpyTranspose() throws {
        // numpy: np.arange(24).reshape(2,3,4).transpose(2,0,1)[1] == [[1,5,9],[13,17,21]]
        let t = Tensor(shape: [2, 3, 4], floats: (0..<24).map(Float.init))
        let p = t.permuted([2, 0, 1])
        XCTAssertEqual(p.shape, [4, 2, 3])
        XCTAssertEqual(Array(p.floats()[6..<12]), [1, 5, 9, 13, 17, 21])
    }

    func testKerasKernelRoundTripIsBitIdentical() throws {
        let values: [Float] = (0..<270).map { (i: Int) -> Float in Float(i) * 0.37 - 11 }
        let keras = Tensor(shape: [3, 3, 3, 2, 5], floats: values)
        let torch = keras.permuted([4, 3, 0, 1, 2])
        XCTAssertEqual(torch.shape, [5, 2, 3, 3, 3])
        // torch[o, i, a, b, c] == keras[a, b, c, i, o]
        let f = torch.floats()
        let torchIndex: Int = (4 * 2 + 1) * 27 + 2 * 9 + 1 * 3 + 0      // [4, 1, 2, 1, 0]
        let kerasIndex: Int = (((2 * 3 + 1) * 3 + 0) * 2 + 1) * 5 + 4   // [2, 1, 0, 1, 4]
        XCTAssertEqual(f[torchIndex], values[kerasIndex])
        XCTAssertEqual(torch.permuted([2, 3, 4, 1, 0]), keras)
    }

    /// The blocked kernel transpose, with channel counts that leave partial blocks of 16 on
    /// both sides, against the index formula element by element, both directions.
    func testBlockedKernelTransposeCoversPartialBlocks() throws {
        for (cin, cout) in [(7, 37), (33, 5), (16, 17), (1, 20), (20, 1)] {
            let n = 27 * cin * cout
            let keras = Tensor(shape: [3, 3, 3, cin, cout], floats: (0..<n).map { Float($0) })
            let torch = keras.permuted([4, 3, 0, 1, 2])
            XCTAssertEqual(torch.shape, [cout, cin, 3, 3, 3])
            let f = torch.floats()
            var mismatches = 0
            for o in 0..<cout {
                for i in 0..<cin {
                    for tap in 0..<27 where f[(o * cin + i) * 27 + tap] != Float((tap * cin + i) * cout + o) { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, "\(cin)x\(cout)")
            XCTAssertEqual(torch.permuted([2, 3, 4, 1, 0]), keras, "\(cin)x\(cout) back")
        }
    }

    func testByteCountMismatchIsRefused() {
        XCTAssertThrowsError(try Tensor(dtype: .float32, shape: [2, 2], bytes: [0, 0, 0, 0], name: "w")) { e in
            XCTAssertEqual(e as? TensorError, .byteCountMismatch(name: "w", expected: 16, found: 4))
        }
    }

    func testOverflowingShapeIsRefusedBeforeAllocation() {
        XCTAssertThrowsError(try Limits.byteCount([Int.max / 2, 4], .float32))
        XCTAssertThrowsError(try Limits.byteCount([1 << 20, 1 << 20], .float32)) { e in
            guard case .tooLarge = e as? TensorError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try Limits.byteCount([-1], .float32))
    }

    func testFloat16AndFloat64Conversion() throws {
        // 0x3C00 = 1.0, 0xC000 = -2.0 in IEEE half.
        let h = try Tensor(dtype: .float16, shape: [2], bytes: [0x00, 0x3C, 0x00, 0xC0])
        XCTAssertEqual(h.floats(), [1, -2])
        let d = try Tensor(dtype: .float64, shape: [1], bytes: withUnsafeBytes(of: 0.5) { Array($0) })
        XCTAssertEqual(d.asFloat32().floats(), [0.5])
    }

    func testStoreKeepsOrderAndReplacesInPlace() {
        var s = TensorStore()
        s["b"] = Tensor(shape: [1], floats: [1])
        s["a"] = Tensor(shape: [1], floats: [2])
        s["b"] = Tensor(shape: [1], floats: [3])
        XCTAssertEqual(s.names, ["b", "a"])
        XCTAssertEqual(s["b"]?.floats(), [3])
        s["b"] = nil
        XCTAssertEqual(s.names, ["a"])
    }

    func testSHA256OfKnownBytes() {
        // sha256("abc"), FIPS 180-2 appendix B.1.
        XCTAssertEqual(Checksum.sha256Hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

final class TensorIntegerTests: XCTestCase {
    func testFloatCountersOutOfInt64RangeSaturateInsteadOfTrapping() {
        // A Keras `iterations` stored as float32 1e30 (a crafted file) or NaN.
        XCTAssertEqual(Tensor(shape: [3], floats: [1e30, -1e30, .nan]).int64s(), [.max, .min, 0])
        XCTAssertEqual(Tensor(shape: [2], floats: [2.9, -2.9]).int64s(), [2, -2])
    }
}

final class TensorMapTests: XCTestCase {
    /// Each value times the factor in Float, exactly as Swift's own `*` rounds it; float64
    /// input is converted first.
    func testScaledMatchesMultiplyingTheValues() throws {
        let values: [Float] = (0..<1000).map { Float($0) * 0.731 - 300 }
        let t = Tensor(shape: [10, 100], floats: values)
        XCTAssertEqual(t.scaled(by: -0.1).floats(), values.map { $0 * -0.1 })
        XCTAssertEqual(t.scaled(by: -0.1).shape, [10, 100])
        let d = try Tensor(dtype: .float64, shape: [1], bytes: withUnsafeBytes(of: 2.0) { Array($0) })
        XCTAssertEqual(d.scaled(by: 1.5), Tensor(shape: [1], floats: [3]))
    }
}

final class MemoryTuningTests: XCTestCase {
    /// On glibc both mallopt settings must take effect (they were once compiled out unnoticed:
    /// the `__GLIBC__` test ran before any header had defined the macro).
    func testLargeBufferReuseTakesEffectOnGlibc() {
        #if canImport(Glibc)
        XCTAssertTrue(MemoryTuning.reuseLargeBuffers())
        #endif
    }

    func testUnzeroedBytesHoldsWhatTheBodyWrote() {
        let b = UnzeroedBytes.make(5) { buf in for i in 0..<5 { buf[i] = UInt8(i * 3) } }
        XCTAssertEqual(b, [0, 3, 6, 9, 12])
    }
}

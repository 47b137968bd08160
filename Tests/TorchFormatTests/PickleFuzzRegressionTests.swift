import XCTest
import Tensors
@_spi(Fuzzing) @testable import TorchFormat

/// Inputs the fuzz targets (Sources/FuzzTargets, RELIABILITY.md "Fuzzing") caught, each with
/// the clean error it must now get.
final class PickleFuzzRegressionTests: XCTestCase {
    /// `('storage', torch.DoubleStorage, '0', 'cpu', 2^31-1)` as a persistent id: an element
    /// count under the cap whose bytes (2^31-1 x 8) are over it. `Limits.byteCount` threw a
    /// `TensorError` out of the torch reader (the pickle target's foreign-error check).
    func testStorageBytesOverTheCapIsATorchError() throws {
        let pickle = hex("8002288c0773746f7261676563746f7263680a446f75626c6553746f726167650a8c01308c036370754affffff7f74512e")
        XCTAssertThrowsError(try TorchFuzzing.readPickle(pickle)) { error in
            guard case let TorchError.limitExceeded(_, what, limit, found) = error else {
                return XCTFail("expected TorchError.limitExceeded, got \(type(of: error)): \(error)")
            }
            XCTAssertEqual(what, "storage 0 bytes")
            XCTAssertEqual(limit, Limits.maxTensorBytes)
            XCTAssertEqual(found, Int(Int32.max) * 8)
        }
    }

    private func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }
}

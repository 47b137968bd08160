import HDF5
import Tensors
import TestSupport
import XCTest
@testable import KerasFormat

final class ReadBudgetTests: XCTestCase {
    func testALayerListedManyTimesCannotClaimGigabytes() throws {
        // One 4 MB dataset, listed 40 times in layer_names: 160 MB from a 4 MB file, over the
        // budget of 8x the file's size + 64 MiB.
        let path = Fixtures.scratchDirectory() + "/repeated.h5"
        do {
            let f = try H5File.create(path)
            let root = try f.root()
            try root.setStringListAttribute("layer_names", Array(repeating: "big", count: 40))
            let g = try root.createGroup("big")
            try g.setStringListAttribute("weight_names", ["big/kernel:0"])
            try g.writeTensor("big/kernel:0", Tensor(shape: [1 << 20], floats: [Float](repeating: 0.5, count: 1 << 20)))
            try f.flush()
        }
        XCTAssertThrowsError(try KerasReader.read(path)) { e in
            XCTAssertTrue("\(e)".contains("more than 8x the file's size"), "\(e)")
            XCTAssertTrue("\(e)".contains(path), "\(e)")
        }
    }
}

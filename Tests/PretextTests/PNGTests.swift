import Foundation
import Tensors
import TestSupport
import VolumeIO
import XCTest

final class PNGTests: XCTestCase {
    /// Big-endian 32-bit integer at `offset`.
    func be32(_ b: [UInt8], _ offset: Int) -> Int { b[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) } }

    /// Gray and RGB pictures written through libpng read back through libpng to the same
    /// pixels; the file starts with the PNG signature and an IHDR giving the size, bit depth 8
    /// and colour type 0 (gray) or 2 (RGB); nothing else is left in the directory.
    func testWriteReadBackSamePixels() throws {
        let dir = Fixtures.scratchDirectory()
        var g = SeededGenerator(seed: 3)
        for (color, type) in [(PNGImage.Color.gray, 0), (.rgb, 2)] {
            let (w, h) = (37, 23)
            let pixels = (0..<(w * h * color.channels)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            let image = try PNGImage(width: w, height: h, color: color, pixels: pixels)
            let path = dir + "/\(color.rawValue).png"
            try PNG.write(image, to: path)
            let bytes = try FileIO.read(path)
            XCTAssertEqual(Array(bytes[0..<8]), [137, 80, 78, 71, 13, 10, 26, 10])
            XCTAssertEqual(be32(bytes, 8), 13)
            XCTAssertEqual(String(decoding: bytes[12..<16], as: UTF8.self), "IHDR")
            XCTAssertEqual(be32(bytes, 16), w)
            XCTAssertEqual(be32(bytes, 20), h)
            XCTAssertEqual(bytes[24], 8)
            XCTAssertEqual(Int(bytes[25]), type)
            XCTAssertEqual(try PNG.read(path), image)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["gray.png", "rgb.png"])
    }

    /// Failures name the file and leave nothing behind; bad sizes are refused before libpng.
    func testFailuresAreReported() throws {
        let dir = Fixtures.scratchDirectory()
        let image = try PNGImage(width: 2, height: 2, color: .gray, filledWith: [7])
        XCTAssertThrowsError(try PNG.write(image, to: dir + "/no/such/dir/x.png"))
        try FileIO.write(Array("not a png".utf8), to: dir + "/fake.png")
        XCTAssertThrowsError(try PNG.read(dir + "/fake.png")) { XCTAssertTrue("\($0)".contains("fake.png")) }
        XCTAssertThrowsError(try PNGImage(width: 2, height: 2, color: .rgb, pixels: [1, 2, 3]))
        XCTAssertThrowsError(try PNGImage(width: 0, height: 2, color: .gray, pixels: []))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["fake.png"])
    }
}

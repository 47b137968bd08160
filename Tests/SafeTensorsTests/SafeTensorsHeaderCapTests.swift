import Foundation
@testable import SafeTensors
import Tensors
import TestSupport
import XCTest

/// Issue 11: a header of 800,000 empty tensors took 20 s and 1.47 GB. The tensor count is now
/// capped (`SafeTensors.maxTensors`) while the header is parsed, and so are array lengths.
final class SafeTensorsHeaderCapTests: XCTestCase {
    /// A file of `count` empty F32 tensors named t0, t1, ...
    static func emptyTensors(_ count: Int) -> [UInt8] {
        var header = "{"
        for i in 0..<count { header += (i == 0 ? "" : ",") + "\"t\(i)\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}" }
        header += "}"
        return framed(header)
    }

    static func framed(_ header: String) -> [UInt8] {
        let h = Array(header.utf8)
        return (0..<8).map { UInt8((UInt64(h.count) >> (8 * UInt64($0))) & 0xFF) } + h
    }

    func testOneTensorOverTheCapIsRefusedByName() throws {
        let bytes = Self.emptyTensors(SafeTensors.maxTensors + 1)
        XCTAssertThrowsError(try SafeTensors.read(bytes: bytes, file: "many")) { e in
            XCTAssertEqual(e as? SafeTensorsError, .tooManyTensors(file: "many", cap: SafeTensors.maxTensors))
            XCTAssertEqual("\(e)", "many: header lists more than 16384 tensors (the cap on tensors per file)")
        }
    }

    func testTheCapItselfIsAccepted() throws {
        let f = try SafeTensors.read(bytes: Self.emptyTensors(SafeTensors.maxTensors), file: "at-cap")
        XCTAssertEqual(f.tensors.count, SafeTensors.maxTensors)
    }

    func testLongArraysInTheHeaderAreRefusedWhileParsing() throws {
        // A shape of a million zeros would build a million JSON values before the rank check.
        let shape = "[" + Array(repeating: "0", count: 1_000_000).joined(separator: ",") + "]"
        let bytes = Self.framed("{\"t\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[0,0]}}")
        XCTAssertThrowsError(try SafeTensors.read(bytes: bytes, file: "long")) { e in
            XCTAssertTrue("\(e)".contains("more than 64 items in one array (the cap on items)"), "\(e)")
        }
    }

    func testAHugeTensorNameIsCutInTheErrorLine() throws {
        let name = String(repeating: "n", count: 1 << 20)
        let bytes = Self.framed("{\"\(name)\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,0]}}")
        XCTAssertThrowsError(try SafeTensors.read(bytes: bytes, file: "named")) { e in
            let line = "\(e)"
            XCTAssertLessThan(line.count, 400, String(line.prefix(400)))
            XCTAssertTrue(line.contains("(1048576 bytes, cut to 200 characters)"), String(line.prefix(400)))
        }
    }
}

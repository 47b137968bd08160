@testable import HDF5Sandbox
import KerasFormat
import Tensors
import TestSupport
import XCTest

/// The parent trusts the child's answer no more than the file: every length, count and offset
/// is checked. A real read's records are encoded, then damaged; decoding must either give
/// in-bounds tensors or throw `Malformed`, never trap or allocate what a count claims.
final class ResultDecodingTests: XCTestCase {
    func encoded() throws -> (meta: [UInt8], data: [UInt8], model: KerasModelFile) {
        let m = try KerasReader.read(Fixtures.path("formats/tfk_adam_model.h5"))
        let e = KerasResult.encode(m)
        var data = [UInt8](repeating: 0, count: e.dataLength)
        for (t, offset) in e.placements { data.replaceSubrange(offset..<(offset + t.bytes.count), with: t.bytes) }
        return (e.meta, data, m)
    }

    /// Decodes against `data`; located tensors are read from `file` (none: no file records).
    func decode(_ meta: [UInt8], _ data: [UInt8], file: SourceFile = SourceFile(fd: -1, size: 0, path: "f.h5")) throws -> KerasModelFile {
        try meta.withUnsafeBytes { m in
            try data.withUnsafeBytes { d in
                var r = ResultReader(m)
                return try KerasResult.decode(&r, data: d, path: "f.h5", file: file)
            }
        }
    }

    func testRoundTripKeepsEveryTensorAndRecord() throws {
        let (meta, data, m) = try encoded()
        let back = try decode(meta, data)
        XCTAssertEqual(SandboxFixtureTests.describe(back), SandboxFixtureTests.describe(m))
        XCTAssertEqual(back.optimizerWeights.count, m.optimizerWeights.count)
        XCTAssertGreaterThan(m.optimizerWeights.count, 0, "the fixture carries Adam state")
    }

    func testEveryDamagedByteIsCaughtOrHarmless() throws {
        let (meta, data, _) = try encoded()
        var refused = 0
        for i in stride(from: 0, to: meta.count, by: max(1, meta.count / 500)) {
            for v: UInt8 in [0xff, 0x7f, 0x00] where meta[i] != v {
                var bad = meta
                bad[i] = v
                do {
                    let m = try decode(bad, data)
                    let claimed = SandboxFixtureTests.allTensors(m).reduce(0) { $0 + $1.bytes.count }
                    XCTAssertLessThanOrEqual(claimed, data.count)
                } catch is ResultReader.Malformed { refused += 1 }
            }
        }
        XCTAssertGreaterThan(refused, 50)
    }

    func testHostileCountsLengthsAndOffsetsAreRefused() throws {
        var w = ResultWriter()
        w.string("keras2-model"); w.u8(0); w.u8(0); w.u8(0)
        w.u32(UInt32.max)  // a layer count no record could back
        XCTAssertThrowsError(try decode(w.bytes, [])) { XCTAssertTrue(($0 as? ResultReader.Malformed)?.reason.contains("cannot fit") == true, "\($0)") }

        func oneTensor(offset: UInt64, length: UInt64, shape: [UInt64]) -> [UInt8] {
            var w = ResultWriter()
            w.string("keras2-model"); w.u8(0); w.u8(0); w.u8(0)
            w.u32(1); w.string("conv"); w.u8(0)
            w.u32(1); w.string("kernel:0"); w.u8(KerasResult.Source.memory.rawValue); w.string("float32"); w.u32(UInt32(shape.count))
            for d in shape { w.u64(d) }
            w.u64(offset); w.u64(length)
            w.u32(0); w.u32(0); w.u8(0); w.u8(0); w.u32(0)
            return w.bytes
        }
        let data = [UInt8](repeating: 1, count: 64)
        XCTAssertNoThrow(try decode(oneTensor(offset: 0, length: 64, shape: [16]), data))
        for (offset, length, shape) in [(UInt64(8), UInt64(64), [UInt64(16)]), (0, 60, [16]), (UInt64.max - 4, 8, [2]), (0, 64, [UInt64.max / 2]), (0, 0, [])] {
            XCTAssertThrowsError(try decode(oneTensor(offset: offset, length: length, shape: shape), data), "\(offset) \(length) \(shape)")
        }
        var trailing = oneTensor(offset: 0, length: 64, shape: [16])
        trailing.append(0)
        XCTAssertThrowsError(try decode(trailing, data))
    }

    /// A tensor the child located is read by the parent from the file, only inside the file and
    /// within the budget (8 x the file's size + 64 MiB), its length exactly its shape's.
    func testLocatedTensorsAreReadFromTheFileWithinItsBounds() throws {
        let path = Fixtures.scratchDirectory(name) + "/data.bin"
        let bytes = (0..<65_536).map { UInt8(truncatingIfNeeded: $0) }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let file = SourceFile(fd: fd, size: bytes.count, path: path)
        func located(offset: UInt64, length: UInt64, shape: [UInt64], copies: Int = 1) -> [UInt8] {
            var w = ResultWriter()
            w.string("keras2-model"); w.u8(0); w.u8(0); w.u8(0)
            w.u32(1); w.string("conv"); w.u8(0)
            w.u32(UInt32(copies))
            for i in 0..<copies {
                w.string("kernel:\(i)"); w.u8(KerasResult.Source.file.rawValue); w.string("float32"); w.u32(UInt32(shape.count))
                for d in shape { w.u64(d) }
                w.u64(offset); w.u64(length)
            }
            w.u32(0); w.u32(0); w.u8(0); w.u8(0); w.u32(0)
            return w.bytes
        }
        let m = try decode(located(offset: 64, length: 32, shape: [8]), [], file: file)
        XCTAssertEqual(m.layers[0].weights[0].tensor.bytes, Array(bytes[64..<96]))
        XCTAssertEqual(m.layers[0].weights[0].tensor.shape, [8])
        for (offset, length, shape) in [(UInt64(65_530), UInt64(32), [UInt64(8)]), (0, 28, [8]), (UInt64.max - 4, 8, [2]), (0, 256, [128])] {
            XCTAssertThrowsError(try decode(located(offset: offset, length: length, shape: shape), [], file: file), "\(offset) \(length) \(shape)") {
                XCTAssertTrue($0 is ResultReader.Malformed, "\($0)")
            }
        }
        // The whole 64 KiB file claimed 1,100 times (72 MB, over the 64 MiB + 512 KiB budget) is refused.
        XCTAssertThrowsError(try decode(located(offset: 0, length: 65_536, shape: [16_384], copies: 1_100), [], file: file)) {
            XCTAssertTrue(($0 as? ResultReader.Malformed)?.reason.contains("may claim") == true, "\($0)")
        }
    }

    /// The child locates every tensor of a Keras 2 file (contiguous, unfiltered, little-endian)
    /// and places none in the shared memory; a `.keras` archive's (inflated in memory) it places.
    func testTheChildLocatesTheTensorsAPlainFileHoldsAsTheyAre() throws {
        let plain = try KerasReader.read(Fixtures.path("keras/genesis_tiny.h5"), asArchive: false, locateData: true)
        let weights = plain.layers.flatMap(\.weights) + plain.optimizerWeights
        XCTAssertGreaterThan(weights.count, 50)
        XCTAssertTrue(weights.allSatisfy { $0.located != nil })
        XCTAssertEqual(KerasResult.encode(plain).dataLength, 0)
        let archive = try KerasReader.read(Fixtures.path("keras3/genesis_tiny.keras"), asArchive: true, locateData: true)
        XCTAssertTrue(archive.layers.flatMap(\.weights).allSatisfy { $0.located == nil })
        XCTAssertGreaterThan(KerasResult.encode(archive).dataLength, 0)
    }
}

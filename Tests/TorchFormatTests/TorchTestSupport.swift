import Foundation
import Tensors
@testable import TorchFormat
import XCTest

/// Builders for hand-made `.pt` files (valid and malicious) used by the tests.
enum Craft {
    /// A pickle from raw body bytes: PROTO 2 + body + STOP.
    static func pickle(_ body: [UInt8]) -> [UInt8] { [0x80, 0x02] + body + [0x2E] }

    static func global(_ module: String, _ name: String) -> [UInt8] { [Op.global] + Array("\(module)\n\(name)\n".utf8) }

    static func unicode(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        let n = UInt32(u.count)
        return [Op.binunicode, UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)] + u
    }

    /// `module.name(arg)` through REDUCE: the classic code-execution pickle.
    static func call(_ module: String, _ name: String, _ arg: String) -> [UInt8] {
        pickle(global(module, name) + unicode(arg) + [Op.tuple1, Op.reduce])
    }

    /// A torch zip holding `pickle` as data.pkl and the given storages.
    static func zip(_ pickle: [UInt8], storages: [(key: String, bytes: [UInt8])] = [], in dir: String, name: String = "crafted.pt") throws -> String {
        let path = dir + "/" + name
        try TorchZip.write(pickle: pickle, storages: storages, root: "archive", to: path)
        return path
    }

    /// The legacy layout: magic, 1001, sys_info, `main`, the key list, then per key a count and bytes.
    static func legacy(main: [UInt8], keys: [String], payload: [(count: Int64, bytes: [UInt8])]) -> [UInt8] {
        var out = pickle([Op.long1, 10] + TorchLegacy.magicLong1)
        out += pickle([Op.binint2, 0xE9, 0x03])
        var info = PickleWriter()
        info.op(Op.emptyDict)
        info.beginItems(1)
        info.string("little_endian")
        info.bool(true)
        info.endItems(1)
        info.stop()
        out += info.bytes
        out += main
        var list = PickleWriter()
        list.op(Op.emptyList)
        list.beginItems(keys.count)
        for k in keys { list.string(k) }
        list.endItems(keys.count, list: true)
        list.stop()
        out += list.bytes
        for p in payload {
            out += (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: p.count) >> (8 * UInt64($0))) }
            out += p.bytes
        }
        return out
    }

    /// A state-dict pickle with one float tensor `name` viewing storage `key` (legacy 6-tuple pids when `legacy`).
    static func tensorPickle(name: String, key: String, numel: Int, offset: Int, shape: [Int], stride: [Int], legacy: Bool) -> [UInt8] {
        var w = PickleWriter()
        w.orderedDict()
        w.beginItems(1)
        w.string(name)
        w.global("torch._utils", "_rebuild_tensor_v2")
        w.beginTuple(6)
        w.beginTuple(legacy ? 6 : 5)
        w.string("storage")
        w.global("torch", "FloatStorage")
        w.string(key)
        w.string("cpu")
        w.int(Int64(numel))
        if legacy { w.none() }
        w.endTuple(legacy ? 6 : 5)
        w.op(Op.binpersid)
        w.int(Int64(offset))
        w.intTuple(shape)
        w.intTuple(stride)
        w.bool(false)
        w.orderedDict()
        w.endTuple(6)
        w.op(Op.reduce)
        w.endItems(1)
        w.stop()
        return w.bytes
    }

    static func floats(_ v: [Float]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw TorchError.cannotWrite(file: path, key: "test file", reason: "createFile failed")
        }
    }
}

/// Asserts that `body` throws a TorchError and returns it.
@discardableResult
func assertTorchError(_ body: @autoclosure () throws -> Any, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) -> TorchError? {
    do {
        _ = try body()
        XCTFail("expected a TorchError \(message)", file: file, line: line)
        return nil
    } catch let e as TorchError {
        return e
    } catch {
        XCTFail("expected a TorchError, got \(type(of: error)): \(error) \(message)", file: file, line: line)
        return nil
    }
}

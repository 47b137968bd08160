import Tensors

/// The legacy format (torch < 1.6, `_legacy_save`): five concatenated protocol-2 pickles —
/// magic, protocol version 1001, sys_info, the object (6-tuple persistent ids), the storage keys
/// sorted as strings — then per key an i64 LE element count and the raw little-endian bytes.
enum TorchLegacy {
    static let magicLong1: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let protocolVersion: Int64 = 1001

    static func load(_ path: String) throws -> (PValue, StorageSource) {
        let data: [UInt8]
        do { data = try FileIO.read(path) } catch { throw TorchError.io(file: path, reason: "\(error)") }

        var pos = 0
        let work = PickleWork()  // one budget for the five pickles
        func next(_ registry: StorageRegistry? = nil) throws -> PValue {
            var vm = PickleVM(file: path, data: data, start: pos, work: work)
            if let registry { vm.persistentLoad = registry.load }
            let v = try vm.run()
            pos = vm.pos
            return v
        }
        guard case let .bigInt(magic) = try next(), magic == magicLong1 else {
            throw TorchError.notTorch(file: path, reason: "the legacy magic number is missing")
        }
        let proto = try next()
        guard case .int(protocolVersion) = proto else {
            throw TorchError.malformed(file: path, key: "protocol version", expected: "\(protocolVersion)", found: proto.kind)
        }
        let sysInfo = try next()
        if let info = sysInfo.asDict, let little = info["little_endian"] {
            guard case .bool(true) = little else {
                throw TorchError.malformed(file: path, key: "sys_info.little_endian", expected: "True", found: little.kind)
            }
        } else {
            throw TorchError.malformed(file: path, key: "sys_info", expected: "a dict with little_endian", found: sysInfo.kind)
        }
        let registry = StorageRegistry(file: path, legacy: true)
        let root = try next(registry)
        let keysValue = try next()
        guard let keyItems = keysValue.asList else {
            throw TorchError.malformed(file: path, key: "storage key list", expected: "a list of strings", found: keysValue.kind)
        }

        // The storages follow back to back: i64 count, then count * elemSize bytes.
        var ranges: [String: Range<Int>] = [:]
        for item in keyItems {
            guard let key = item.asString else {
                throw TorchError.malformed(file: path, key: "storage key list", expected: "strings", found: item.kind)
            }
            guard let ref = registry.byKey[key] else {
                throw TorchError.storage(file: path, key: key, expected: "a storage the pickle refers to", found: "an unreferenced key")
            }
            guard ranges[key] == nil else {
                throw TorchError.storage(file: path, key: key, expected: "each key once", found: "a repeated key")
            }
            guard data.count - pos >= 8 else {
                throw TorchError.truncated(file: path, location: "element count of storage \(key) at offset \(pos)", needed: 8, available: data.count - pos)
            }
            let count = Int64(bitPattern: data[pos..<(pos + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            pos += 8
            guard count == Int64(ref.numel) else {
                throw TorchError.storage(file: path, key: key, expected: "\(ref.numel) elements (persistent id)", found: "\(count) elements")
            }
            let bytes = try Limits.byteCount([ref.numel], ref.dtype, what: "storage \(key)")
            guard bytes <= data.count - pos else {
                throw TorchError.truncated(file: path, location: "storage \(key) at offset \(pos)", needed: bytes, available: data.count - pos)
            }
            ranges[key] = pos..<(pos + bytes)
            pos += bytes
        }
        guard ranges.count == registry.byKey.count else {
            let missing = registry.order.first { ranges[$0] == nil } ?? "?"
            throw TorchError.storage(file: path, key: missing, expected: "listed in the storage key list", found: "missing")
        }
        guard pos == data.count else {
            throw TorchError.malformed(file: path, key: "end of file", expected: "the file to end after the last storage (offset \(pos))",
                                       found: "\(data.count - pos) trailing bytes")
        }
        return (root, LegacyStorages(data: data, ranges: ranges, file: path))
    }
}

final class LegacyStorages: StorageSource {
    let data: [UInt8]
    let ranges: [String: Range<Int>]
    let file: String
    private var cache: [String: [UInt8]] = [:]

    init(data: [UInt8], ranges: [String: Range<Int>], file: String) {
        self.data = data
        self.ranges = ranges
        self.file = file
    }

    func bytes(_ ref: StorageRef) throws -> [UInt8] {
        if let b = cache[ref.key] { return b }
        guard let r = ranges[ref.key] else {
            throw TorchError.storage(file: file, key: ref.key, expected: "raw data after the pickles", found: "none")
        }
        let b = Array(data[r])
        cache[ref.key] = b
        return b
    }
}

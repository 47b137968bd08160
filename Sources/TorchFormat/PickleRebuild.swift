import Tensors

/// What REDUCE and BINPERSID may build. These are data interpretations of the allowed names,
/// never calls into anything.
enum Reduce {
    /// The dotted name of a callable on the stack, for "refused call" errors.
    static func name(_ v: PValue) -> String {
        if case let .global(g) = v { return g }
        return v.kind
    }

    static func apply(_ callable: PValue, _ args: PValue, file: String, at: Int) throws -> PValue {
        guard case let .global(name) = callable else {
            throw TorchError.refusedCall(file: file, callable: name(callable), offset: at)
        }
        guard let a = args.asTuple else {
            throw TorchError.badPickle(file: file, offset: at, expected: "an argument tuple for \(name)", found: args.kind)
        }
        if let v = try NumpyReduce.apply(name, a, file: file, at: at) { return v }
        switch name {
        case Allowed.orderedDict:
            guard a.isEmpty else {
                throw TorchError.badPickle(file: file, offset: at, expected: "OrderedDict() without arguments", found: "\(a.count) arguments")
            }
            return .dict(PDict(ordered: true))
        case Allowed.rebuildTensor:
            return .tensor(try rebuildTensor(a, file: file, at: at))
        case Allowed.rebuildParameter:
            guard a.count >= 2, a.count <= 4, case let .tensor(t) = a[0] else {
                throw TorchError.badPickle(file: file, offset: at, expected: "_rebuild_parameter(tensor, requires_grad, hooks)",
                                           found: "\(a.count) arguments starting with \(a.first?.kind ?? "nothing")")
            }
            return .tensor(t)
        default:
            // Storage classes are allowed as names inside persistent ids, never as callables.
            throw TorchError.refusedCall(file: file, callable: name, offset: at)
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    static func rebuildTensor(_ a: [PValue], file: String, at: Int) throws -> TensorRef {
        let what = "_rebuild_tensor_v2 at pickle offset \(at)"
        guard a.count == 6 || a.count == 7 else {
            throw TorchError.malformed(file: file, key: what, expected: "6 or 7 arguments", found: "\(a.count)")
        }
        guard case let .storage(s) = a[0] else {
            throw TorchError.malformed(file: file, key: what, expected: "a storage (persistent id) first", found: a[0].kind)
        }
        guard let off = a[1].asInt, off >= 0, off <= Int64(Int32.max) * 1024 else {
            throw TorchError.malformed(file: file, key: what, expected: "a non-negative storage offset", found: a[1].kind)
        }
        let shape = try ints(a[2], what: "\(what) size", file: file)
        let stride = try ints(a[3], what: "\(what) stride", file: file)
        guard shape.count == stride.count else {
            throw TorchError.malformed(file: file, key: what, expected: "\(shape.count) strides for size \(shape)", found: "\(stride.count)")
        }
        return TensorRef(storage: s, offset: Int(off), shape: shape, stride: stride)
    }

    private static func ints(_ v: PValue, what: String, file: String) throws -> [Int] {
        guard let items = v.asTuple else { throw TorchError.malformed(file: file, key: what, expected: "a tuple of ints", found: v.kind) }
        guard items.count <= PickleLimits.maxRank else {
            throw TorchError.limitExceeded(file: file, what: "\(what) rank", limit: PickleLimits.maxRank, found: items.count)
        }
        return try items.map {
            guard case let .int(i) = $0, i.magnitude <= UInt64(1) << 40 else {
                throw TorchError.malformed(file: file, key: what, expected: "ints of at most 2^40", found: $0.kind)
            }
            return Int(i)
        }
    }

    /// A storage persistent id: `('storage', cls, key, location, numel)` in zip files, plus a
    /// sixth `view_metadata` (None or `(view_key, offset, size)`) in the legacy format.
    static func storage(_ pid: PValue, legacy: Bool, file: String, at: Int) throws -> StorageRef {
        let what = "persistent id at pickle offset \(at)"
        guard let t = pid.asTuple, t.count == (legacy ? 6 : 5) else {
            throw TorchError.malformed(file: file, key: what, expected: "a \(legacy ? 6 : 5)-tuple", found: pid.kind)
        }
        guard t[0].asString == "storage" else {
            throw TorchError.malformed(file: file, key: what, expected: "'storage'", found: t[0].kind)
        }
        guard case let .global(cls) = t[1] else {
            throw TorchError.malformed(file: file, key: what, expected: "a storage class", found: t[1].kind)
        }
        guard let dtype = Allowed.storageClasses[cls] else {
            throw TorchError.unsupportedDType(file: file, tensor: what, storageClass: cls)
        }
        guard let key = t[2].asString, isSafeKey(key) else {
            throw TorchError.malformed(file: file, key: what, expected: "a storage key of letters, digits, '_', '-', '.'", found: t[2].kind)
        }
        guard let location = t[3].asString else {
            throw TorchError.malformed(file: file, key: "storage \(key)", expected: "a location string", found: t[3].kind)
        }
        guard case let .int(n) = t[4], n >= 0, n <= Int64(Limits.maxTensorBytes) else {
            throw TorchError.malformed(file: file, key: "storage \(key)", expected: "an element count in 0...\(Limits.maxTensorBytes)", found: t[4].kind)
        }
        let bytes = Int(n) * dtype.byteSize  // n <= 2^32 elements of at most 8 bytes: no overflow
        guard bytes <= Limits.maxTensorBytes else {  // a TorchError, not Limits.byteCount's TensorError
            throw TorchError.limitExceeded(file: file, what: "storage \(key) bytes", limit: Limits.maxTensorBytes, found: bytes)
        }
        var view: (Int, Int)?
        if legacy, let v = t[5].asTuple {
            guard v.count == 3, case let .int(o) = v[1], case let .int(c) = v[2], o >= 0, c >= 0, o <= n, c <= n - o else {
                throw TorchError.malformed(file: file, key: "storage \(key)", expected: "view (key, offset, size) inside \(n) elements", found: t[5].kind)
            }
            view = (Int(o), Int(c))
        } else if legacy, case .none = t[5] {
        } else if legacy {
            throw TorchError.malformed(file: file, key: "storage \(key)", expected: "view metadata None or a 3-tuple", found: t[5].kind)
        }
        return StorageRef(className: cls, dtype: dtype, key: key, location: location, numel: Int(n), view: view)
    }

    static func isSafeKey(_ k: String) -> Bool {
        !k.isEmpty && k.count <= 64 && k != "." && k != ".." && k.unicodeScalars.allSatisfy {
            ($0.properties.isASCIIHexDigit || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || "_-.".unicodeScalars.contains($0))
        }
    }
}

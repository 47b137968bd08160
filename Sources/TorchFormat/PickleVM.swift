import Tensors

/// A pickle machine for the subset torch checkpoints use. It never imports or calls anything:
/// globals are checked against `Allowed` by name, and REDUCE only interprets the allowed
/// constructors (`OrderedDict()`, `_rebuild_tensor_v2`, `_rebuild_parameter`). Every length,
/// index and size is checked before use, and all the work is held to a budget (`PickleWork`).
struct PickleVM {
    let file: String
    private let data: [UInt8]
    private(set) var pos: Int
    private var stack: [PValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PValue] = [:]
    /// Turns a persistent id (BINPERSID) into a value; throws for anything that is not a storage.
    var persistentLoad: ((PValue, Int) throws -> PValue)?
    /// Bytes copied, hashed and compared so far; shared by the pickles of one file.
    let work: PickleWork
    /// The names this pickle may use: a checkpoint's, or plain data's (`DataPickle`).
    var profile: Allowed.Profile = .torch

    init(file: String, data: [UInt8], start: Int = 0, work: PickleWork = PickleWork()) {
        self.file = file
        self.data = data
        self.pos = start
        self.work = work
    }

    /// Runs to STOP; returns the result. `pos` is then just past the STOP opcode.
    mutating func run() throws -> PValue {
        while true {
            let at = pos
            let op = try byte(at: "opcode")
            try charge(1, at)
            if op == Op.stop {
                guard stack.count == 1, marks.isEmpty else {
                    throw bad(at, "one value on the stack at STOP", "\(stack.count) values, \(marks.count) open marks")
                }
                return stack.removeLast()
            }
            try step(op, at: at)
        }
    }

    private mutating func step(_ op: UInt8, at: Int) throws {
        switch op {
        case Op.proto: _ = try byte(at: "PROTO")
        case Op.frame: _ = try fixed(8, "FRAME")
        case Op.none: try push(.none)
        case Op.newTrue: try push(.bool(true))
        case Op.newFalse: try push(.bool(false))
        case Op.binint1: try push(.int(Int64(try byte(at: "BININT1"))))
        case Op.binint2: try push(.int(Int64(try le(2, "BININT2"))))
        case Op.binint: try push(.int(Int64(Int32(truncatingIfNeeded: try le(4, "BININT")))))
        case Op.long1: try push(try long(Int(try byte(at: "LONG1")), at))
        case Op.long4: try push(try long(try length(4, "LONG4", cap: PickleLimits.maxLongBytes), at))
        case Op.binfloat: try push(.float(Double(bitPattern: try be8("BINFLOAT"))))
        case Op.binunicode: try push(.string(try utf8(try length(4, "BINUNICODE"), at)))
        case Op.shortBinunicode: try push(.string(try utf8(Int(try byte(at: "SHORT_BINUNICODE")), at)))
        case Op.binstring: try push(.string(latin1(try fixed(try length(4, "BINSTRING"), "BINSTRING"))))
        case Op.shortBinstring: try push(.string(latin1(try fixed(Int(try byte(at: "SHORT_BINSTRING")), "SHORT_BINSTRING"))))
        case Op.binbytes: try push(.bytes(try fixed(try length(4, "BINBYTES"), "BINBYTES")))
        case Op.shortBinbytes: try push(.bytes(try fixed(Int(try byte(at: "SHORT_BINBYTES")), "SHORT_BINBYTES")))
        case Op.mark:
            guard marks.count < PickleLimits.maxMarks else { throw limit("open marks", PickleLimits.maxMarks, marks.count + 1) }
            marks.append(stack.count)
        case Op.pop: _ = try pop(at)
        case Op.popMark: _ = try popToMark(at)
        case Op.dup: let v = try top(at); try push(v)
        case Op.emptyTuple: try push(try tuple([], at))
        case Op.tuple: try push(try tuple(try popToMark(at), at))
        case Op.tuple1, Op.tuple2, Op.tuple3:
            let n = Int(op - Op.tuple1) + 1
            let above = stack.count - (marks.last ?? 0)  // values above the innermost MARK
            guard above >= n else { throw bad(at, "\(n) values above the mark for TUPLE\(n)", "\(above)") }
            let items = Array(stack.suffix(n))
            stack.removeLast(n)
            try push(try tuple(items, at))
        case Op.emptyList, Op.emptySet: try push(.list(PList()))
        case Op.list:
            let l = PList()
            try append(try popToMark(at), to: l, at)
            try push(.list(l))
        case Op.append:
            let v = try pop(at)
            try append([v], to: try list(at), at)
        case Op.appends, Op.additems:
            let items = try popToMark(at)
            try append(items, to: try list(at), at)
        case Op.emptyDict: try push(.dict(PDict(ordered: false)))
        case Op.dict:
            let d = PDict(ordered: false)
            try setItems(try popToMark(at), in: d, at)
            try push(.dict(d))
        case Op.setitem:
            let v = try pop(at), k = try pop(at)
            try setItems([k, v], in: try dict(at), at)
        case Op.setitems:
            let items = try popToMark(at)
            try setItems(items, in: try dict(at), at)
        case Op.global:
            let module = try line("GLOBAL module"), name = try line("GLOBAL name")
            try push(try global("\(module).\(name)"))
        case Op.stackGlobal:
            let name = try pop(at), module = try pop(at)
            guard let m = module.asString, let n = name.asString else {
                throw bad(at, "two strings for STACK_GLOBAL", "\(module.kind), \(name.kind)")
            }
            try charge(m.utf8.count + n.utf8.count, at)
            try push(try global("\(m).\(n)"))
        case Op.reduce:
            let args = try pop(at), callable = try pop(at)
            try push(try Reduce.apply(callable, args, file: file, at: at))
        case Op.newobj:
            _ = try pop(at)
            let cls = try pop(at)
            throw TorchError.refusedCall(file: file, callable: Reduce.name(cls), offset: at)
        case Op.build:
            let state = try pop(at), obj = try top(at)
            if case let .ndarray(a) = obj { try a.build(state, file: file, at: at); break }
            if case let .dtype(t) = obj { try NumpyReduce.build(t, state, file: file, at: at); break }
            guard case let .dict(d) = obj, d.ordered, !d.frozen, d.attributes == nil else {
                throw TorchError.refusedCall(file: file, callable: "BUILD on \(obj.kind)", offset: at)
            }
            guard state.depth < PickleLimits.maxDepth else { throw limit("nesting depth", PickleLimits.maxDepth, state.depth + 1) }
            d.attributes = state
        case Op.binpersid:
            let pid = try pop(at)
            try chargeHash(pid, at)  // the registry hashes its key
            guard let load = persistentLoad else { throw bad(at, "no persistent ids in this pickle", "BINPERSID") }
            try push(try load(pid, at))
        case Op.binput: try put(Int(try byte(at: "BINPUT")), at)
        case Op.longBinput: try put(Int(try le(4, "LONG_BINPUT")), at)
        case Op.memoize: try put(memo.count, at)
        case Op.binget: try get(Int(try byte(at: "BINGET")), at)
        case Op.longBinget: try get(Int(try le(4, "LONG_BINGET")), at)
        default:
            throw TorchError.unsupportedOpcode(file: file, opcode: op, offset: at)
        }
    }

    // MARK: stack, memo, containers

    private mutating func push(_ v: PValue) throws {
        guard stack.count < PickleLimits.maxStack else { throw limit("stack size", PickleLimits.maxStack, stack.count + 1) }
        stack.append(v)
    }

    private mutating func pop(_ at: Int) throws -> PValue {
        guard stack.count > (marks.last ?? 0) else { throw bad(at, "a value on the stack", "an empty stack (or a mark)") }
        return stack.removeLast()
    }

    private func top(_ at: Int) throws -> PValue {
        guard stack.count > (marks.last ?? 0), let v = stack.last else { throw bad(at, "a value on the stack", "an empty stack") }
        return v
    }

    private mutating func popToMark(_ at: Int) throws -> [PValue] {
        guard let m = marks.popLast() else { throw bad(at, "a MARK", "none open") }
        try charge(stack.count - m, at)
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func tuple(_ items: [PValue], _ at: Int) throws -> PValue {
        try charge(items.count, at)
        let t = PTuple(try nest(items, at))
        return .tuple(t)
    }

    /// Freezes containers placed inside another one and checks the resulting depth.
    private func nest(_ items: [PValue], _ at: Int) throws -> [PValue] {
        for v in items {
            guard v.depth < PickleLimits.maxDepth else { throw limit("nesting depth", PickleLimits.maxDepth, v.depth + 1) }
            switch v {
            case let .list(l): l.frozen = true
            case let .dict(d): d.frozen = true
            default: break
            }
        }
        return items
    }

    private func list(_ at: Int) throws -> PList {
        guard case let .list(l) = try top(at) else { throw bad(at, "a list to append to", (try? top(at).kind) ?? "nothing") }
        return l
    }

    private func dict(_ at: Int) throws -> PDict {
        guard case let .dict(d) = try top(at) else { throw bad(at, "a dict to set items in", (try? top(at).kind) ?? "nothing") }
        return d
    }

    private func append(_ items: [PValue], to l: PList, _ at: Int) throws {
        guard !l.frozen else { throw bad(at, "a list still being built", "a list already nested in another container") }
        try charge(items.count, at)
        for v in try nest(items, at) {
            if case let .list(x) = v, x === l { throw bad(at, "an acyclic value", "a list appended to itself") }
            l.append(v)
        }
    }

    private func setItems(_ items: [PValue], in d: PDict, _ at: Int) throws {
        guard !d.frozen else { throw bad(at, "a dict still being built", "a dict already nested in another container") }
        guard items.count % 2 == 0 else { throw bad(at, "key/value pairs", "\(items.count) values") }
        let items = try nest(items, at)
        for i in stride(from: 0, to: items.count, by: 2) {
            // Hashing the key, and comparing it with an equal one already there: twice its bytes.
            // One 8 MiB key set 200,000 times once took 528 s.
            try chargeHash(items[i], at, times: 2)
            guard let k = items[i].key else { throw bad(at, "a hashable dict key", items[i].kind) }
            if case let .dict(x) = items[i + 1], x === d { throw bad(at, "an acyclic value", "a dict stored in itself") }
            d.set(k, key: items[i], value: items[i + 1])
        }
    }

    private mutating func put(_ index: Int, _ at: Int) throws {
        guard index < PickleLimits.maxMemoIndex else { throw limit("memo index", PickleLimits.maxMemoIndex, index) }
        memo[index] = try top(at)
    }

    private mutating func get(_ index: Int, _ at: Int) throws {
        guard let v = memo[index] else { throw bad(at, "a defined memo index", "undefined index \(index)") }
        try push(v)
    }

    private func global(_ name: String) throws -> PValue {
        guard Allowed.isAllowed(name, profile: profile) else {
            // Complex, quantized and untyped storages are torch data, not code: say so plainly.
            if name.hasPrefix("torch."), name.hasSuffix("Storage"), !name.dropFirst(6).contains(".") {
                throw TorchError.unsupportedDType(file: file, tensor: "storage class at pickle offset \(pos)", storageClass: name)
            }
            throw TorchError.refusedGlobal(file: file, name: name)
        }
        return .global(name)
    }

    // MARK: reading operands, each checked against the bytes left

    private var remaining: Int { data.count - pos }

    private mutating func byte(at what: String) throws -> UInt8 {
        guard pos < data.count else { throw TorchError.truncated(file: file, location: "pickle \(what) at offset \(pos)", needed: 1, available: 0) }
        defer { pos += 1 }
        return data[pos]
    }

    private mutating func fixed(_ n: Int, _ what: String) throws -> [UInt8] {
        guard n >= 0, n <= remaining else {
            throw TorchError.truncated(file: file, location: "pickle \(what) at offset \(pos)", needed: n, available: remaining)
        }
        try charge(n, pos)
        defer { pos += n }
        return Array(data[pos..<(pos + n)])
    }

    private mutating func le(_ n: Int, _ what: String) throws -> UInt64 {
        try fixed(n, what).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    private mutating func be8(_ what: String) throws -> UInt64 {
        try fixed(8, what).reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A u32 length prefix, checked against a cap and the bytes left before anything is allocated.
    private mutating func length(_ n: Int, _ what: String, cap: Int = PickleLimits.maxStringBytes) throws -> Int {
        let v = Int(try le(n, what))
        guard v <= cap else { throw limit("\(what) length", cap, v) }
        guard v <= remaining else {
            throw TorchError.truncated(file: file, location: "pickle \(what) at offset \(pos)", needed: v, available: remaining)
        }
        return v
    }

    private mutating func utf8(_ n: Int, _ at: Int) throws -> String {
        let b = try fixed(n, "string")
        guard let s = String(validating: b, as: UTF8.self) else { throw bad(at, "UTF-8 text", "\(n) invalid bytes") }
        return s
    }

    private func latin1(_ b: [UInt8]) -> String { String(b.map { Character(Unicode.Scalar($0)) }) }

    private mutating func line(_ what: String) throws -> String {
        let start = pos
        let end = min(data.count, start + PickleLimits.maxGlobalLine)
        guard let nl = data[start..<end].firstIndex(of: 0x0A) else {
            throw TorchError.truncated(file: file, location: "pickle \(what) at offset \(start)", needed: PickleLimits.maxGlobalLine, available: end - start)
        }
        pos = nl + 1
        return latin1(Array(data[start..<nl]))
    }

    /// LONG1/LONG4: little-endian two's complement; Int64 when it fits.
    private mutating func long(_ n: Int, _ at: Int) throws -> PValue {
        let b = try fixed(n, "LONG")
        if n == 0 { return .int(0) }
        let negative = b[n - 1] & 0x80 != 0
        if n <= 8 {
            var v: UInt64 = negative ? ~0 : 0
            for (i, x) in b.enumerated() { v &= ~(0xFF << (8 * UInt64(i))); v |= UInt64(x) << (8 * UInt64(i)) }
            return .int(Int64(bitPattern: v))
        }
        // Wider encodings still fit Int64 when the high bytes are pure sign extension.
        let ext: UInt8 = negative ? 0xFF : 0
        if b[8...].allSatisfy({ $0 == ext }), (b[7] & 0x80 != 0) == negative {
            return .int(Int64(bitPattern: b[0..<8].reversed().reduce(0) { $0 << 8 | UInt64($1) }))
        }
        return .bigInt(b)
    }

    // MARK: the work budget

    private func charge(_ n: Int, _ at: Int) throws {
        work.done += n
        guard work.done <= work.cap else {
            throw TorchError.limitExceeded(file: file, what: "pickle work (bytes copied, hashed and compared, up to offset \(at))",
                                           limit: work.cap, found: work.done)
        }
    }

    /// What hashing `v` as a dict key (or a storage key) costs: its strings' bytes and one per
    /// node, over at most `PValue.maxKeyNodes` nodes (a larger tuple is no key at all).
    private func chargeHash(_ v: PValue, _ at: Int, times: Int = 1) throws {
        var nodes = PValue.maxKeyNodes
        try chargeHash(v, at, times: times, nodes: &nodes)
    }

    private func chargeHash(_ v: PValue, _ at: Int, times: Int, nodes: inout Int) throws {
        nodes -= 1
        guard nodes >= 0 else { return }
        switch v {
        case let .string(s): try charge(times * (1 + s.utf8.count), at)
        case let .bytes(b), let .bigInt(b): try charge(times * (1 + b.count), at)
        case let .tuple(t):
            try charge(times, at)
            for item in t.items { try chargeHash(item, at, times: times, nodes: &nodes) }
        default: try charge(times, at)
        }
    }

    private func bad(_ at: Int, _ expected: String, _ found: String) -> TorchError {
        .badPickle(file: file, offset: at, expected: expected, found: found)
    }

    private func limit(_ what: String, _ cap: Int, _ found: Int) -> TorchError {
        .limitExceeded(file: file, what: what, limit: cap, found: found)
    }
}

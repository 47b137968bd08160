/// Emits pickle protocol 2 by hand, using only opcodes torch's `weights_only` loader accepts.
/// Memoizes strings, tuples, containers and globals like Python's pickler (BINPUT, then
/// LONG_BINPUT from memo index 256); reuses globals through BINGET/LONG_BINGET.
struct PickleWriter {
    private(set) var bytes: [UInt8] = [Op.proto, 2]
    private(set) var memoCount = 0
    private var globalMemo: [String: Int] = [:]

    mutating func op(_ b: UInt8) { bytes.append(b) }

    private mutating func u32(_ v: Int) {
        let x = UInt32(truncatingIfNeeded: v)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: x >> (8 * UInt32(i)))) }
    }

    /// Stores the top of the stack in the memo; returns its index.
    @discardableResult
    mutating func memoize() -> Int {
        let i = memoCount
        if i < 256 {
            bytes += [Op.binput, UInt8(i)]
        } else {
            op(Op.longBinput)
            u32(i)
        }
        memoCount += 1
        return i
    }

    mutating func get(_ i: Int) {
        if i < 256 {
            bytes += [Op.binget, UInt8(i)]
        } else {
            op(Op.longBinget)
            u32(i)
        }
    }

    mutating func none() { op(Op.none) }
    mutating func bool(_ b: Bool) { op(b ? Op.newTrue : Op.newFalse) }

    /// BININT1 / BININT2 / BININT, and LONG1 (minimal two's complement) outside the i32 range.
    mutating func int(_ v: Int64) {
        switch v {
        case 0...0xFF: bytes += [Op.binint1, UInt8(v)]
        case 0x100...0xFFFF: bytes += [Op.binint2, UInt8(v & 0xFF), UInt8(v >> 8)]
        case Int64(Int32.min)...Int64(Int32.max):
            op(Op.binint)
            u32(Int(v))
        default:
            var le = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> (8 * UInt64($0))) }
            while le.count > 1 {
                let last = le[le.count - 1], prevHigh = le[le.count - 2] & 0x80
                if (last == 0 && prevHigh == 0) || (last == 0xFF && prevHigh != 0) { le.removeLast() } else { break }
            }
            bytes += [Op.long1, UInt8(le.count)] + le
        }
    }

    /// BINFLOAT: big-endian IEEE 754 double.
    mutating func float(_ d: Double) {
        op(Op.binfloat)
        let bits = d.bitPattern
        for i in (0..<8).reversed() { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
    }

    /// BINUNICODE (u32 LE length + UTF-8), memoized.
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        op(Op.binunicode)
        u32(utf8.count)
        bytes += utf8
        memoize()
    }

    /// GLOBAL `module\nname\n`, memoized on first use and fetched from the memo afterwards.
    mutating func global(_ module: String, _ name: String) {
        let key = "\(module).\(name)"
        if let i = globalMemo[key] { return get(i) }
        op(Op.global)
        bytes += Array("\(module)\n\(name)\n".utf8)
        globalMemo[key] = memoize()
    }

    /// Tuples: `beginTuple(n)`, the n items, `endTuple(n)` → EMPTY_TUPLE, TUPLE1/2/3 or MARK … TUPLE.
    mutating func beginTuple(_ count: Int) { if count > 3 { op(Op.mark) } }

    mutating func endTuple(_ count: Int) {
        if count == 0 { return op(Op.emptyTuple) }
        op(count > 3 ? Op.tuple : Op.tuple1 + UInt8(count - 1))
        memoize()
    }

    mutating func intTuple(_ values: [Int]) {
        beginTuple(values.count)
        for v in values { int(Int64(v)) }
        endTuple(values.count)
    }

    /// `collections.OrderedDict()` through REDUCE, memoized.
    mutating func orderedDict() {
        global("collections", "OrderedDict")
        op(Op.emptyTuple)
        op(Op.reduce)
        memoize()
    }

    /// Filling the dict (or list) on the stack: `beginItems(n)`, the items, `endItems(n)` →
    /// MARK … SETITEMS (APPENDS for lists); nothing at all when empty.
    mutating func beginItems(_ count: Int) { if count > 0 { op(Op.mark) } }

    mutating func endItems(_ count: Int, list: Bool = false) {
        if count > 0 { op(list ? Op.appends : Op.setitems) }
    }

    mutating func stop() { op(Op.stop) }
}

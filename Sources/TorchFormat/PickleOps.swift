import Tensors

/// Pickle opcodes of the subset we read and write (schemas/formats.md, "PyTorch pickle": what torch's own
/// `weights_only` unpickler accepts, plus a few protocol-4 opcodes).
enum Op {
    static let proto: UInt8 = 0x80, stop: UInt8 = 0x2E /* . */, frame: UInt8 = 0x95
    static let global: UInt8 = 0x63 /* c */, stackGlobal: UInt8 = 0x93
    static let reduce: UInt8 = 0x52 /* R */, build: UInt8 = 0x62 /* b */, newobj: UInt8 = 0x81
    static let mark: UInt8 = 0x28 /* ( */, pop: UInt8 = 0x30 /* 0 */, popMark: UInt8 = 0x31 /* 1 */, dup: UInt8 = 0x32 /* 2 */
    static let tuple: UInt8 = 0x74 /* t */, tuple1: UInt8 = 0x85, tuple2: UInt8 = 0x86, tuple3: UInt8 = 0x87
    static let emptyTuple: UInt8 = 0x29 /* ) */
    static let emptyList: UInt8 = 0x5D /* ] */, append: UInt8 = 0x61 /* a */, appends: UInt8 = 0x65 /* e */, list: UInt8 = 0x6C /* l */
    static let emptyDict: UInt8 = 0x7D /* } */, dict: UInt8 = 0x64 /* d */
    static let setitem: UInt8 = 0x73 /* s */, setitems: UInt8 = 0x75 /* u */
    static let emptySet: UInt8 = 0x8F, additems: UInt8 = 0x90
    static let none: UInt8 = 0x4E /* N */, newTrue: UInt8 = 0x88, newFalse: UInt8 = 0x89
    static let binint: UInt8 = 0x4A /* J */, binint1: UInt8 = 0x4B /* K */, binint2: UInt8 = 0x4D /* M */
    static let long1: UInt8 = 0x8A, long4: UInt8 = 0x8B
    static let binfloat: UInt8 = 0x47 /* G */
    static let binunicode: UInt8 = 0x58 /* X */, shortBinunicode: UInt8 = 0x8C
    static let binstring: UInt8 = 0x54 /* T */, shortBinstring: UInt8 = 0x55 /* U */
    static let binbytes: UInt8 = 0x42 /* B */, shortBinbytes: UInt8 = 0x43 /* C */
    static let binpersid: UInt8 = 0x51 /* Q */
    static let binput: UInt8 = 0x71 /* q */, longBinput: UInt8 = 0x72 /* r */, memoize: UInt8 = 0x94
    static let binget: UInt8 = 0x68 /* h */, longBinget: UInt8 = 0x6A /* j */
}

/// The only globals a torch checkpoint may name. Anything else is refused by name at the
/// GLOBAL opcode, before it could be used.
enum Allowed {
    static let orderedDict = "collections.OrderedDict"
    static let rebuildTensor = "torch._utils._rebuild_tensor_v2"
    static let rebuildParameter = "torch._utils._rebuild_parameter"

    /// `torch.<X>Storage` classes and their element types (schemas/formats.md, "PyTorch pickle").
    static let storageClasses: [String: DType] = [
        "torch.FloatStorage": .float32, "torch.DoubleStorage": .float64,
        "torch.HalfStorage": .float16, "torch.BFloat16Storage": .bfloat16,
        "torch.LongStorage": .int64, "torch.IntStorage": .int32, "torch.ShortStorage": .int16,
        "torch.CharStorage": .int8, "torch.ByteStorage": .uint8, "torch.BoolStorage": .bool,
    ]

    /// What a pickle may name: a torch checkpoint's constructors and storages, or plain data's
    /// OrderedDict and numpy's array, dtype and scalar (nnU-Net v1 plans).
    enum Profile { case torch, data }

    static func isAllowed(_ name: String, profile: Profile = .torch) -> Bool {
        switch profile {
        case .torch: return name == orderedDict || name == rebuildTensor || name == rebuildParameter || storageClasses[name] != nil
        case .data: return name == orderedDict || NumpyReduce.names.contains(name)
        }
    }

    /// The storage class that holds `dtype` (for the writer).
    static func storageClass(for dtype: DType) -> String {
        storageClasses.first { $0.value == dtype }!.key
    }
}

/// Caps on everything a pickle could make us allocate.
enum PickleLimits {
    static let maxStack = 1 << 20
    static let maxMarks = 1 << 16
    /// Memo indices are assigned sequentially by writers; the full Genesis file uses a few thousand.
    static let maxMemoIndex = 1 << 22
    static let maxDepth = 100
    static let maxStringBytes = 1 << 28
    static let maxLongBytes = 64
    static let maxGlobalLine = 256
    static let maxRank = Limits.maxRank
    /// Work one file's pickles may cost: bytes copied, hashed and compared (1 GiB; a real
    /// checkpoint's pickle costs a small multiple of its own size, under 1 MiB for the official
    /// model: PickleWorkBudgetTests checks the fixtures stay under 16x).
    static let maxWorkBytes = 1 << 30
}

/// The work budget of one file's pickles, counted in bytes copied, hashed and compared (plus
/// one per opcode and per container item), so that no pickle can make us loop over gigabytes:
/// a memo entry can be used any number of times for the price of a few bytes of file.
final class PickleWork {
    let cap: Int
    var done = 0
    init(cap: Int = PickleLimits.maxWorkBytes) { self.cap = cap }
}

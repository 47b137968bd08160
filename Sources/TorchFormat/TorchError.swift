import Tensors

/// Errors reading or writing PyTorch checkpoints. Every case names the file; the others carry
/// where the problem is (an opcode offset, a tensor or key name) and what was expected and found.
public enum TorchError: Error, CustomStringConvertible, Equatable {
    /// The file cannot be opened or read.
    case io(file: String, reason: String)
    /// Not a PyTorch file at all (neither a zip nor the legacy magic).
    case notTorch(file: String, reason: String)
    /// A pickle global outside the allow-list; nothing was imported or executed.
    case refusedGlobal(file: String, name: String)
    /// A REDUCE/NEWOBJ/BUILD on something that is not an allowed callable.
    case refusedCall(file: String, callable: String, offset: Int)
    /// An opcode outside the supported subset.
    case unsupportedOpcode(file: String, opcode: UInt8, offset: Int)
    /// The pickle stream is inconsistent (stack underflow, wrong operand types, ...).
    case badPickle(file: String, offset: Int, expected: String, found: String)
    /// A length, count, index or depth over a cap, checked before any allocation.
    case limitExceeded(file: String, what: String, limit: Int, found: Int)
    /// The file ends before `needed` bytes at `location`.
    case truncated(file: String, location: String, needed: Int, available: Int)
    /// The structure (checkpoint, persistent id, tensor arguments, optimizer state) is not what a
    /// torch checkpoint holds.
    case malformed(file: String, key: String, expected: String, found: String)
    /// A storage the pickle refers to is missing, or has the wrong size.
    case storage(file: String, key: String, expected: String, found: String)
    /// A tensor's strides/offset reach outside its storage or cannot be copied out.
    case unsupportedLayout(file: String, tensor: String, reason: String)
    /// A storage class without a DType here (complex, quantized, ...).
    case unsupportedDType(file: String, tensor: String, storageClass: String)
    /// Writing failed (or the input cannot be written as a torch file).
    case cannotWrite(file: String, key: String, reason: String)

    public var description: String {
        // Every value the file supplies (keys, names, what was found) is cut to ~200 characters.
        let q = { (s: String) in Quoted.clip(s) }
        switch self {
        case let .io(f, r): return "\(f): \(q(r))"
        case let .notTorch(f, r): return "\(f): not a PyTorch checkpoint: \(q(r))"
        case let .refusedGlobal(f, n): return "\(f): refused global \(q(n)) (not on the allow-list; nothing was executed)"
        case let .refusedCall(f, c, o): return "\(f): refused call of \(q(c)) at pickle offset \(o)"
        case let .unsupportedOpcode(f, op, o):
            return "\(f): unsupported pickle opcode 0x\(String(op, radix: 16)) at offset \(o)"
        case let .badPickle(f, o, e, found): return "\(f): pickle offset \(o): expected \(q(e)), found \(q(found))"
        case let .limitExceeded(f, w, l, found): return "\(f): \(q(w)) \(found) exceeds the cap of \(l)"
        case let .truncated(f, l, n, a): return "\(f): truncated at \(q(l)): needs \(n) bytes, \(a) available"
        case let .malformed(f, k, e, found): return "\(f): \(q(k)): expected \(q(e)), found \(q(found))"
        case let .storage(f, k, e, found): return "\(f): storage \(q(k)): expected \(q(e)), found \(q(found))"
        case let .unsupportedLayout(f, t, r): return "\(f): tensor \(q(t)): unsupported layout: \(q(r))"
        case let .unsupportedDType(f, t, c): return "\(f): tensor \(q(t)): unsupported storage class \(q(c))"
        case let .cannotWrite(f, k, r): return "\(f): cannot write \(q(k)): \(q(r))"
        }
    }
}

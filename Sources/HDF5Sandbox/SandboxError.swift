/// Why a file read through the sandbox gave no model. Every case names the file; the child's own
/// clean errors keep the reader's words.
public enum SandboxError: Error, CustomStringConvertible, Equatable {
    /// The reader process died (a signal, a resource limit, the wall-clock limit): libhdf5 met
    /// something it could not survive. `how` is e.g. "killed by signal 11, SIGSEGV".
    case unsafe(file: String, how: String)
    /// The reader refused the file with a clean error (its message, which names the file).
    case rejected(file: String, message: String)
    /// The reader's answer broke the result layout (an out-of-bounds length or offset, a bad
    /// count): the child is not trusted either.
    case badResult(file: String, reason: String)
    /// The reader process could not be started or did not answer as the reader.
    case helper(file: String, reason: String)

    public var description: String {
        switch self {
        case let .unsafe(f, how): return "libhdf5 could not read \(f) safely (\(how)): the file is damaged or hostile"
        case let .rejected(_, m): return m
        case let .badResult(f, r): return "libhdf5 could not read \(f) safely (the reader's answer is malformed: \(r)): the file is damaged or hostile"
        case let .helper(f, r): return "\(f): cannot start the sandboxed HDF5 reader: \(r)"
        }
    }
}

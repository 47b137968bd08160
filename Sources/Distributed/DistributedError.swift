/// Why a data-parallel run could not go on.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// An MPI call returned an error.
    case mpi(call: String, rank: Int, code: Int32, message: String)
    /// The launcher's variables say one thing, MPI another.
    case badLaunch(reason: String)

    public var description: String {
        switch self {
        case let .mpi(call, rank, code, message): return "rank \(rank): \(call) failed (MPI error \(code): \(message))"
        case let .badLaunch(reason): return "MPI launch: \(reason)"
        }
    }
}

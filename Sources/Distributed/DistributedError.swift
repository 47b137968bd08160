/// Why a data-parallel run could not go on.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// An MPI call returned an error.
    case mpi(call: String, rank: Int, code: Int32, message: String)
    /// The launcher's variables say one thing, MPI another.
    case badLaunch(reason: String)
    /// Launched by an MPI launcher, but Open MPI's library could not be loaded.
    case noMPI(library: String, reason: String)

    public var description: String {
        switch self {
        case let .mpi(call, rank, code, message): return "rank \(rank): \(call) failed (MPI error \(code): \(message))"
        case let .badLaunch(reason): return "MPI launch: \(reason)"
        case let .noMPI(library, reason):
            return "started by an MPI launcher, but Open MPI's library \(library) cannot be loaded (\(reason)): install Open MPI 3, 4 or 5 (Debian: libopenmpi3) or set GENESIS_LIBMPI to its libmpi.so"
        }
    }
}

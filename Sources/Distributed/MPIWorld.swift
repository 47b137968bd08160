import CMPI
import Foundation
import Runtime3D
import Training

/// The ranks of a run started by `mpirun` or `srun`, over MPI's world communicator: rank and
/// size, sums over every rank (float32 in buckets, started without waiting; Double for loss
/// terms and BatchNorm moments), broadcasts from rank 0 and barriers, each blocking call under
/// the watchdog's time-out. Implements the training code's `Collectives` and the runtime's
/// `BatchNormReducer`, so neither imports MPI.
///
/// MPI is initialised only when the process runs under a launcher (`launched`), so a plain
/// `genesis pretrain` never calls `MPI_Init`. Calls come from one thread at a time (the
/// training thread); the watchdog thread may call `MPI_Abort`, hence `MPI_THREAD_MULTIPLE`.
public final class MPIWorld: Collectives, BatchNormReducer, @unchecked Sendable {
    public let rank: Int
    public let ranks: Int
    private let comm: MPI_Comm
    private var watchdog: Watchdog!
    private var requests: [Int: MPI_Request?] = [:]
    private var nextRequest = 1
    private var finalized = false

    /// The launcher variables that mark a process started by `mpirun` (Open MPI), `srun`
    /// (SLURM, PMI or PMIx) or another PMI launcher.
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"]

    /// Whether this process was started by an MPI launcher.
    public static func launched(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        launcherVariables.contains { environment[$0] != nil }
    }

    /// Initialises MPI (once per process) with the collectives' time-out in seconds.
    public init(timeout: Double) throws {
        var argc: Int32 = 0
        var provided: Int32 = 0
        var code = MPI_Init_thread(&argc, nil, shim_mpi_thread_multiple(), &provided)
        guard code == shim_mpi_success() else { throw DistributedError.mpi(call: "MPI_Init_thread", rank: -1, code: code, message: Self.text(code)) }
        comm = shim_mpi_comm_world()
        MPI_Comm_set_errhandler(comm, shim_mpi_errors_return())
        var r: Int32 = 0, n: Int32 = 0
        code = MPI_Comm_rank(comm, &r)
        if code == shim_mpi_success() { code = MPI_Comm_size(comm, &n) }
        guard code == shim_mpi_success() else { throw DistributedError.mpi(call: "MPI_Comm_rank", rank: -1, code: code, message: Self.text(code)) }
        rank = Int(r)
        ranks = Int(n)
        guard provided >= shim_mpi_thread_multiple() else {
            throw DistributedError.badLaunch(reason: "this MPI library gives thread level \(provided), the watchdog needs MPI_THREAD_MULTIPLE")
        }
        let me = rank
        watchdog = Watchdog(timeout: timeout) { what, waited in
            let line = "genesis: error: rank \(me): \(what) waited \(Int(waited)) s for the other ranks (--mpi-timeout \(Int(timeout))): a peer is dead or stuck; aborting the job\n"
            FileHandle.standardError.write(Data(line.utf8))
            MPI_Abort(shim_mpi_comm_world(), 2)
        }
    }

    static func text(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        shim_mpi_error_string(code, &buffer, Int32(buffer.count))
        return String(cString: buffer)
    }

    private func check(_ code: Int32, _ call: String) throws {
        guard code == shim_mpi_success() else { throw DistributedError.mpi(call: call, rank: rank, code: code, message: Self.text(code)) }
    }

    private func count32(_ n: Int, _ call: String) throws -> Int32 {
        guard let c = Int32(exactly: n) else { throw DistributedError.mpi(call: call, rank: rank, code: -1, message: "\(n) values are more than one call takes") }
        return c
    }

    public func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> Int {
        var request: MPI_Request? = shim_mpi_request_null()
        try check(MPI_Iallreduce(shim_mpi_in_place(), buffer, try count32(count, "MPI_Iallreduce"), shim_mpi_float(), shim_mpi_sum(), comm, &request),
                  "MPI_Iallreduce")
        let id = nextRequest
        nextRequest += 1
        requests[id] = request
        return id
    }

    public func progress() throws {
        for (id, var request) in requests {
            var done: Int32 = 0
            try check(MPI_Test(&request, &done, shim_mpi_status_ignore()), "MPI_Test")
            requests[id] = request
        }
    }

    public func wait(_ id: Int) throws {
        guard var request = requests.removeValue(forKey: id) else { return }
        try watchdog.guarded("the gradient all-reduce") {
            try check(MPI_Wait(&request, shim_mpi_status_ignore()), "MPI_Wait")
        }
    }

    public func sum(_ values: inout [Double]) throws {
        let n = try count32(values.count, "MPI_Allreduce")
        try watchdog.guarded("a sum over the ranks") {
            try values.withUnsafeMutableBufferPointer { p in
                try check(MPI_Allreduce(shim_mpi_in_place(), p.baseAddress, n, shim_mpi_double(), shim_mpi_sum(), comm), "MPI_Allreduce")
            }
        }
    }

    public func broadcast(_ values: inout [Float]) throws {
        let n = try count32(values.count, "MPI_Bcast")
        try watchdog.guarded("a broadcast from rank 0") {
            try values.withUnsafeMutableBufferPointer { p in
                try check(MPI_Bcast(p.baseAddress, n, shim_mpi_float(), 0, comm), "MPI_Bcast")
            }
        }
    }

    public func broadcast(_ values: inout [Double]) throws {
        let n = try count32(values.count, "MPI_Bcast")
        try watchdog.guarded("a broadcast from rank 0") {
            try values.withUnsafeMutableBufferPointer { p in
                try check(MPI_Bcast(p.baseAddress, n, shim_mpi_double(), 0, comm), "MPI_Bcast")
            }
        }
    }

    public func barrier() throws {
        try watchdog.guarded("a barrier") { try check(MPI_Barrier(comm), "MPI_Barrier") }
    }

    /// Ends the job on every rank with `code` (after this rank failed: the others must not wait).
    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }

    /// The clean end of a run (every rank calls it).
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        MPI_Finalize()
    }
}

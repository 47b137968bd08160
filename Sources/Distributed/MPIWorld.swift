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
/// MPI is loaded (Open MPI's libmpi.so.40, with dlopen: nothing links it) and initialised only
/// when the process runs under a launcher (`launched`), so a plain `genesis pretrain` never
/// touches MPI and the tool runs where no MPI is installed. Calls come from one thread at a time (the
/// training thread); the watchdog thread may call `MPI_Abort`, hence `MPI_THREAD_MULTIPLE`.
public final class MPIWorld: Collectives, BatchNormReducer, @unchecked Sendable {
    public let rank: Int
    public let ranks: Int
    private let comm: UnsafeMutableRawPointer?
    private var watchdog: Watchdog!
    private var requests: [Int: UnsafeMutableRawPointer?] = [:]
    private var nextRequest = 1
    private var finalized = false

    /// The launcher variables that mark a process started by `mpirun` (Open MPI), `srun`
    /// (SLURM, PMI or PMIx) or another PMI launcher.
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"]

    /// Whether this process was started by an MPI launcher.
    public static func launched(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        launcherVariables.contains { environment[$0] != nil }
    }

    /// The variable that names the MPI library to load instead of `libmpi.so.40`.
    public static let libraryVariable = "GENESIS_LIBMPI"

    /// Loads Open MPI's library (`GENESIS_LIBMPI`, else `libmpi.so.40` from the loader's path);
    /// the library's name, or `DistributedError.noMPI` naming what is missing.
    @discardableResult
    public static func load(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let named = environment[libraryVariable].flatMap { $0.isEmpty ? nil : $0 }
        var buffer = [CChar](repeating: 0, count: 512)
        let status = cmpi_load(named, &buffer, Int32(buffer.count))
        let message = String(cString: buffer)
        guard status == 0 else { throw DistributedError.noMPI(library: named ?? CMPI_LIBRARY, reason: message) }
        return message
    }

    /// MPI_Get_library_version's first line, once the library is loaded.
    public static var libraryVersion: String? {
        guard cmpi_loaded() != 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: 512)
        cmpi_library_version(&buffer, Int32(buffer.count))
        return String(cString: buffer)
    }

    /// Loads Open MPI and initialises it (once per process) with the collectives' time-out in seconds.
    public init(timeout: Double) throws {
        try Self.load()
        var provided: Int32 = 0
        var code = cmpi_init_thread(CMPI_THREAD_MULTIPLE, &provided)
        guard code == CMPI_SUCCESS else { throw DistributedError.mpi(call: "MPI_Init_thread", rank: -1, code: code, message: Self.text(code)) }
        comm = cmpi_comm_world()
        cmpi_comm_set_errors_return(comm)
        var r: Int32 = 0, n: Int32 = 0
        code = cmpi_comm_rank(comm, &r)
        if code == CMPI_SUCCESS { code = cmpi_comm_size(comm, &n) }
        guard code == CMPI_SUCCESS else { throw DistributedError.mpi(call: "MPI_Comm_rank", rank: -1, code: code, message: Self.text(code)) }
        rank = Int(r)
        ranks = Int(n)
        guard provided >= CMPI_THREAD_MULTIPLE else {
            throw DistributedError.badLaunch(reason: "this MPI library gives thread level \(provided), the watchdog needs MPI_THREAD_MULTIPLE")
        }
        let me = rank
        watchdog = Watchdog(timeout: timeout) { what, waited in
            let line = "genesis: error: rank \(me): \(what) waited \(Int(waited)) s for the other ranks (--mpi-timeout \(Int(timeout))): a peer is dead or stuck; aborting the job\n"
            FileHandle.standardError.write(Data(line.utf8))
            cmpi_abort(cmpi_comm_world(), 2)
        }
    }

    static func text(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        cmpi_error_string(code, &buffer, Int32(buffer.count))
        return String(cString: buffer)
    }

    private func check(_ code: Int32, _ call: String) throws {
        guard code == CMPI_SUCCESS else { throw DistributedError.mpi(call: call, rank: rank, code: code, message: Self.text(code)) }
    }

    private func count32(_ n: Int, _ call: String) throws -> Int32 {
        guard let c = Int32(exactly: n) else { throw DistributedError.mpi(call: call, rank: rank, code: -1, message: "\(n) values are more than one call takes") }
        return c
    }

    public func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> Int {
        var request: UnsafeMutableRawPointer? = cmpi_request_null()
        try check(cmpi_iallreduce_sum_float(buffer, try count32(count, "MPI_Iallreduce"), comm, &request), "MPI_Iallreduce")
        let id = nextRequest
        nextRequest += 1
        requests[id] = request
        return id
    }

    public func progress() throws {
        for (id, var request) in requests {
            var done: Int32 = 0
            try check(cmpi_test(&request, &done), "MPI_Test")
            requests[id] = request
        }
    }

    public func wait(_ id: Int) throws {
        guard var request = requests.removeValue(forKey: id) else { return }
        try watchdog.guarded("the gradient all-reduce") {
            try check(cmpi_wait(&request), "MPI_Wait")
        }
    }

    public func sum(_ values: inout [Double]) throws {
        let n = try count32(values.count, "MPI_Allreduce")
        try watchdog.guarded("a sum over the ranks") {
            try values.withUnsafeMutableBufferPointer { p in
                try check(cmpi_allreduce_sum_double(p.baseAddress, n, comm), "MPI_Allreduce")
            }
        }
    }

    public func broadcast(_ values: inout [Float]) throws {
        let n = try count32(values.count, "MPI_Bcast")
        try watchdog.guarded("a broadcast from rank 0") {
            try values.withUnsafeMutableBufferPointer { p in
                try check(cmpi_bcast_float(p.baseAddress, n, 0, comm), "MPI_Bcast")
            }
        }
    }

    public func broadcast(_ values: inout [Double]) throws {
        let n = try count32(values.count, "MPI_Bcast")
        try watchdog.guarded("a broadcast from rank 0") {
            try values.withUnsafeMutableBufferPointer { p in
                try check(cmpi_bcast_double(p.baseAddress, n, 0, comm), "MPI_Bcast")
            }
        }
    }

    public func barrier() throws {
        try watchdog.guarded("a barrier") { try check(cmpi_barrier(comm), "MPI_Barrier") }
    }

    /// Ends the job on every rank with `code` (after this rank failed: the others must not wait).
    public func abort(code: Int32) -> Never {
        cmpi_abort(comm, code)
        exit(code)
    }

    /// The clean end of a run (every rank calls it).
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        cmpi_finalize()
    }
}

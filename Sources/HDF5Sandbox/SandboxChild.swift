import CSandbox
import Foundation
import KerasFormat
import Tensors

/// The reader process: `genesis-hdf5-helper __read-hdf5 [--archive] --address-space B --cpu S
/// --open-files N` (or any program that serves the subcommand, such as `genesis`; or the forked
/// copy of the caller, `SandboxHelper.fork`, which enters `serve` directly) with the file on
/// descriptor 3 (read-only) and the result memory on descriptor 4. It limits itself before it
/// reads a byte of the file, runs the ordinary Keras reader (locating the tensors the file holds
/// as they are rather than reading them), and writes the result (`ResultLayout`) into the
/// memory, which the parent maps after the child has exited.
public enum SandboxChild {
    /// The hidden subcommand (not in `--help`): the first argument every helper executable gets.
    public static let subcommand = "__read-hdf5"
    /// Test hooks, honoured by the child only: `segv`, `abort`, `hang` (spins; the child first
    /// lowers its own CPU limit to 1 s so the test is quick), `alloc` (allocates until the
    /// address-space limit stops it), `sleep` (blocks; for the wall-clock limit), `write` (tries
    /// to write a file), `report` (answers with its descriptors and limits instead of reading).
    public static let testHookVariable = "GENESIS_SANDBOX_TEST"
    static let fileDescriptor: Int32 = 3
    static let memoryDescriptor: Int32 = 4
    static let filePath = "/proc/self/fd/3"
    /// Exit status when the limits cannot be applied (the file is then never read).
    static let limitsFailed: Int32 = 125

    /// For a program that is to serve as a helper executable: when its first argument is
    /// `subcommand`, runs the reader and exits with its status; otherwise returns at once.
    /// Call it first thing in `main`, before any thread is started.
    public static func serveIfAsked(_ arguments: [String] = CommandLine.arguments) {
        guard arguments.count > 1, arguments[1] == subcommand else { return }
        exit(main(Array(arguments.dropFirst(2))))
    }

    /// The reader, given the arguments after the subcommand; returns the exit status.
    public static func main(_ args: [String]) -> Int32 {
        var archive = false, limits: [String: UInt64] = [:]
        var i = 0
        while i < args.count {
            if args[i] == "--archive" { archive = true; i += 1; continue }
            guard i + 1 < args.count, let v = UInt64(args[i + 1]) else { return limitsFailed }
            limits[args[i]] = v
            i += 2
        }
        guard let space = limits["--address-space"], let cpu = limits["--cpu"], let files = limits["--open-files"] else { return limitsFailed }
        return serve(archive: archive, addressSpace: space, cpu: cpu, openFiles: files,
                     testHook: ProcessInfo.processInfo.environment[testHookVariable])
    }

    /// Limits this process, then reads descriptor 3 and answers on descriptor 4: the one path
    /// of every helper, spawned or forked.
    static func serve(archive: Bool, addressSpace space: UInt64, cpu: UInt64, openFiles files: UInt64, testHook: String?) -> Int32 {
        guard csb_limit(csb_rlimit_core(), 0, 0) == 0, csb_limit(csb_rlimit_fsize(), 0, 0) == 0,
              csb_limit(csb_rlimit_nofile(), files, files) == 0, csb_limit(csb_rlimit_cpu(), cpu, cpu + 1) == 0,
              csb_limit(csb_rlimit_as(), space, space) == 0 else { return limitsFailed }
        if let hook = testHook {
            return runTestHook(hook)
        }
        let model: KerasModelFile
        do {
            model = try KerasReader.read(filePath, asArchive: archive, locateData: true)
        } catch {
            return answer(status: .rejected, message: "\(error)")
        }
        let encoded = KerasResult.encode(model)
        return answer(status: .ok, meta: encoded.meta, placements: encoded.placements, dataLength: encoded.dataLength)
    }

    static func answer(status: ResultLayout.Status, message: String) -> Int32 {
        var w = ResultWriter()
        w.string(String(decoding: message.utf8.prefix(1 << 20), as: UTF8.self))
        return answer(status: status, meta: w.bytes, placements: [], dataLength: 0)
    }

    /// Writes header, records and tensor bytes into the result memory (sized by the parent).
    static func answer(status: ResultLayout.Status, meta: [UInt8], placements: [(tensor: Tensor, offset: Int)], dataLength: Int) -> Int32 {
        var st = stat()
        guard fstat(memoryDescriptor, &st) == 0 else { return 124 }
        let capacity = Int(st.st_size)
        guard meta.count <= ResultLayout.maxMetaBytes, let dataOffset = ResultLayout.aligned(ResultLayout.headerSize + meta.count),
              case let (total, overflow) = dataOffset.addingReportingOverflow(dataLength), !overflow, total <= capacity else {
            if status == .ok {
                return answer(status: .rejected, message: "the file's tensors (\(dataLength) bytes) and records (\(meta.count) bytes) exceed the reader's result capacity (\(capacity) bytes)")
            }
            return 124
        }
        guard let base = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_SHARED, memoryDescriptor, 0), base != MAP_FAILED else { return 124 }
        defer { munmap(base, total) }
        // Fault the pages in with one call rather than one fault per page (Linux 5.14+;
        // without it the copies below fault them in).
        _ = madvise(base, total, 23 /* MADV_POPULATE_WRITE */)
        let region = UnsafeMutableRawBufferPointer(start: base, count: total)
        meta.withUnsafeBytes { region.baseAddress!.advanced(by: ResultLayout.headerSize).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        for (t, offset) in placements where !t.bytes.isEmpty {
            t.bytes.withUnsafeBytes { region.baseAddress!.advanced(by: dataOffset + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        var header = ResultWriter()
        header.u32(status.rawValue)
        header.u32(0)
        for v in [ResultLayout.headerSize, meta.count, dataOffset, dataLength] { header.u64(UInt64(v)) }
        (ResultLayout.magic + header.bytes).withUnsafeBytes { region.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return 0
    }

    static func runTestHook(_ hook: String) -> Int32 {
        switch hook {
        case "segv":
            UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1
        case "abort":
            abort()
        case "hang":
            _ = csb_limit(csb_rlimit_cpu(), 1, 2)
            var x: UInt64 = 1
            while x != 0 { x = x &* 6364136223846793005 &+ 1442695040888963407 }
        case "alloc":
            var keep: [[UInt8]] = []
            while true { keep.append([UInt8](repeating: 1, count: 64 << 20)) }
        case "sleep":
            while true { sleep(1000) }
        case "write":
            let fd = open("/tmp/genesis-sandbox-write-probe-\(getpid())", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            if fd >= 0 { _ = write(fd, "x", 1); close(fd) }
            unlink("/tmp/genesis-sandbox-write-probe-\(getpid())")
            return answer(status: .testReport, message: "write: the write was not stopped")
        case "report":
            return answer(status: .testReport, message: "fds \(openDescriptors().map(String.init).joined(separator: " ")); " + limitLines())
        default:
            return answer(status: .testReport, message: "unknown test hook \(hook)")
        }
        return 0
    }

    /// The process's open descriptors (the directory stream's own left out).
    static func openDescriptors() -> [Int32] {
        guard let dir = opendir("/proc/self/fd") else { return [] }
        defer { closedir(dir) }
        let own = dirfd(dir)
        var out: [Int32] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let n = Int32(name), n != own { out.append(n) }
        }
        return out.sorted()
    }

    /// The lines of /proc/self/limits for the limits the sandbox sets.
    static func limitLines() -> String {
        let text = (try? String(contentsOfFile: "/proc/self/limits", encoding: .utf8)) ?? ""
        let wanted = ["Max cpu time", "Max file size", "Max core file size", "Max open files", "Max address space"]
        return text.split(separator: "\n").filter { l in wanted.contains { l.hasPrefix($0) } }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }.joined(separator: "; ")
    }
}

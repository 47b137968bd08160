import CSandbox
import Foundation
import KerasFormat
import Tensors

/// Reads a Keras HDF5 file (or a `.keras` archive) in a child process started as `helper` says
/// (`SandboxHelper`: a helper executable spawned with the hidden `SandboxChild.subcommand`, or a
/// fork of this process), the file as an open read-only descriptor and a memfd for the answer,
/// no other descriptor, resource limits (`SandboxLimits`) and a wall-clock limit. A child that
/// dies becomes one `SandboxError.unsafe` line; its clean errors come back as `.rejected` with
/// the reader's own message.
///
/// Copies: a tensor the file holds as it is (one contiguous, unfiltered block of the type read:
/// every tensor Keras writes) the child only locates, and the parent reads it from the file into
/// its own buffer after checking the extent (one copy, as an in-process read). Any other tensor
/// (chunked, compressed, converted, or inside a `.keras` archive) the child reads and copies once
/// into the shared memory; the parent maps that memory read-only after the child has exited and
/// sealed it, and copies each such tensor once into its own buffer (`Tensor` owns its bytes).
public enum SandboxedKerasReader {
    public static func read(_ path: String, archive: Bool, limits: SandboxLimits? = nil, helper: SandboxHelper = .automatic,
                            testHook: String? = ProcessInfo.processInfo.environment[SandboxChild.testHookVariable]) throws -> KerasModelFile {
        let raw = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard raw >= 0 else { throw SandboxError.helper(file: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(raw) }
        var st = stat()
        guard fstat(raw, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw SandboxError.rejected(file: path, message: "\(path): not a regular file")
        }
        let size = Int(st.st_size)
        let limits = limits ?? SandboxLimits.forFile(size: size, archive: archive)
        let fileFD = csb_dup_high(raw)
        guard fileFD >= 0 else { throw SandboxError.helper(file: path, reason: "cannot duplicate the descriptor") }
        defer { close(fileFD) }
        let memory = csb_memfd("genesis-hdf5-result", UInt64(SandboxLimits.resultCapacity(size: size, archive: archive)))
        guard memory >= 0 else { throw SandboxError.helper(file: path, reason: "cannot create the result memory: \(String(cString: strerror(errno)))") }
        defer { close(memory) }
        let memoryFD = csb_dup_high(memory)
        guard memoryFD >= 0, csb_seal(memoryFD, 0) == 0 else { throw SandboxError.helper(file: path, reason: "cannot seal the result memory") }
        defer { close(memoryFD) }

        let reader = helper.resolved()
        var pid: pid_t = 0
        switch reader {
        case let .executable(executable):
            let args = [executable, SandboxChild.subcommand] + (archive ? ["--archive"] : []) + limits.childArguments
            // No inherited environment. Swift's crash backtracer is off: it would start a helper
            // process, and under the address-space limit it can block instead of letting the
            // child die of its signal.
            let env = ["SWIFT_BACKTRACE=enable=no"] + (testHook.map { ["\(SandboxChild.testHookVariable)=\($0)"] } ?? [])
            let rc = withCStrings(args) { argv in withCStrings(env) { envp in csb_spawn(executable, argv, envp, fileFD, memoryFD, &pid) } }
            guard rc == 0 else { throw SandboxError.helper(file: path, reason: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        case .fork, .automatic:  // (resolved() never gives .automatic)
            // Everything the child needs is computed before the fork; the child only reads.
            let space = UInt64(limits.addressSpaceBytes), cpu = UInt64(limits.cpuSeconds), files = UInt64(limits.openFiles)
            pid = csb_fork(fileFD, memoryFD)
            if pid == 0 {
                // The child (descriptors and signals already set by csb_fork). Its address space
                // starts as the parent's: the cap counts on top of it.
                let (total, overflow) = csb_address_space().addingReportingOverflow(space)
                _exit(SandboxChild.serve(archive: archive, addressSpace: overflow ? UInt64.max : total, cpu: cpu, openFiles: files, testHook: testHook))
            }
            guard pid > 0 else { throw SandboxError.helper(file: path, reason: "cannot fork: \(String(cString: strerror(errno)))") }
        }
        var status: Int32 = 0, cpuMs: Int64 = 0
        let waited = csb_wait(pid, Int32(clamping: limits.wallSeconds * 1000), &status, &cpuMs)
        guard waited >= 0 else { throw SandboxError.helper(file: path, reason: "cannot wait for the reader: \(String(cString: strerror(errno)))") }
        if waited == 1 { throw SandboxError.unsafe(file: path, how: "stopped after its \(limits.wallSeconds) s time limit") }
        if let how = Self.death(status, limits: limits) { throw SandboxError.unsafe(file: path, how: how) }
        if (status >> 8) & 0xff == SandboxChild.limitsFailed {
            throw SandboxError.helper(file: path, reason: "\(reader) could not set its resource limits")
        }
        // The child is gone: seal the memory against writes (fails if any other process still
        // maps it writable), then read what it left.
        guard csb_seal(memoryFD, 1) == 0 else {
            throw SandboxError.badResult(file: path, reason: "another process still holds the result memory writable")
        }
        return try ResultMapping.decode(memoryFD, path: path, reader: reader, file: SourceFile(fd: raw, size: size, path: path))
    }

    /// How a finished child died, or nil when it exited with status 0.
    static func death(_ status: Int32, limits: SandboxLimits) -> String? {
        let signal = status & 0x7f
        if signal == 0 {
            let code = (status >> 8) & 0xff
            return code == 0 || code == SandboxChild.limitsFailed ? nil : "exited with status \(code) without an answer"
        }
        let name = signalNames[signal].map { ", \($0)" } ?? ""
        switch signal {
        case SIGXCPU, SIGKILL: return "killed by signal \(signal)\(name): over its \(limits.cpuSeconds) s CPU limit"
        case SIGXFSZ: return "killed by signal \(signal)\(name): it tried to write a file"
        default: return "killed by signal \(signal)\(name)"
        }
    }

    static let signalNames: [Int32: String] = [
        SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP", SIGFPE: "SIGFPE",
        SIGKILL: "SIGKILL", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ", SIGSYS: "SIGSYS", SIGPIPE: "SIGPIPE", SIGTERM: "SIGTERM",
    ]

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var ptrs: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
        defer { for p in ptrs { free(p) } }
        return ptrs.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}

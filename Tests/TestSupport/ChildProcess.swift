import Foundation

/// A child process run under a data-memory limit and a time limit, whose end is told apart
/// exactly: an exit code, a signal, or a timeout (then killed). Its peak resident memory comes
/// from `wait4`. stdout and stderr go to files, so no pipe can block it.
public struct ChildRun: Sendable {
    public let status: Int32?
    /// The signal that ended it (SIGKILL after a timeout too).
    public let signal: Int32?
    public let timedOut: Bool
    public let peakResidentBytes: Int
    public let stdout: String
    public let stderr: String
    public let seconds: Double

    public init(status: Int32?, signal: Int32?, timedOut: Bool, peakResidentBytes: Int, stdout: String, stderr: String, seconds: Double) {
        self.status = status
        self.signal = signal
        self.timedOut = timedOut
        self.peakResidentBytes = peakResidentBytes
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
    }
}

public enum ChildProcess {
    /// Runs `executable` with `arguments` under `RLIMIT_DATA = memoryLimit` (set in the child by
    /// `sh -c 'ulimit -d'`, then exec: the same process), killed after `timeout` seconds.
    /// `onStart` is called with the pid once it runs (the kill tests signal it from there).
    public static func run(_ executable: String, _ arguments: [String], memoryLimit: Int? = nil, timeout: Double = 300,
                           scratch: String, onStart: ((pid_t) -> Void)? = nil) throws -> ChildRun {
        let tag = UUID().uuidString.prefix(8)
        let outPath = scratch + "/.child-\(tag).out", errPath = scratch + "/.child-\(tag).err"
        defer { unlink(outPath); unlink(errPath) }
        var argv = [executable] + arguments
        if let memoryLimit {
            argv = ["/bin/sh", "-c", "ulimit -d \(memoryLimit / 1024) && exec \"$0\" \"$@\""] + argv
        }
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        // SIGINT and SIGTERM at their default action in the child, even when the test runner
        // was started with them ignored (`&` in a script): the signal tests send them.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let start = Date()
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, environ)
        guard rc == 0 else { throw NSError(domain: "posix_spawn", code: Int(rc)) }
        onStart?(pid)
        var status: Int32 = 0
        var usage = rusage()
        var timedOut = false
        while true {
            let r = wait4(pid, &status, WNOHANG, &usage)
            if r == pid { break }
            if r < 0, errno != EINTR { throw NSError(domain: "wait4", code: Int(errno)) }
            if !timedOut, Date().timeIntervalSince(start) > timeout {
                timedOut = true
                kill(pid, SIGKILL)
            }
            usleep(2000)
        }
        let seconds = Date().timeIntervalSince(start)
        let signalled = status & 0x7F
        let read = { (p: String) in (try? String(contentsOfFile: p, encoding: .utf8)) ?? String(decoding: FileManager.default.contents(atPath: p) ?? Data(), as: UTF8.self) }
        return ChildRun(status: signalled == 0 ? (status >> 8) & 0xFF : nil, signal: signalled == 0 ? nil : signalled,
                        timedOut: timedOut, peakResidentBytes: usage.ru_maxrss * 1024, stdout: read(outPath), stderr: read(errPath),
                        seconds: seconds)
    }
}

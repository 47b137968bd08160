/// What the reader process may use. The defaults (`forFile`) are the documented caps:
///
/// - address space: 1 GiB + 4 x the file's size (a `.keras` archive: 1 GiB + 8 x, for the
///   extracted `model.weights.h5` and libhdf5's in-memory copy of it). Measured (debug build,
///   smallest cap that still reads, 16 MiB steps): 284 MiB for a 2 MiB file, 410 MiB for 62 MiB,
///   536 MiB for the 124 MiB official-size file, whose cap is 1.5 GiB (BENCHMARKS.md);
/// - CPU: 60 s (a read of the full-size file takes well under a second); SIGXCPU at 60 s,
///   SIGKILL at 61 s;
/// - wall clock: 120 s, after which the parent kills the child;
/// - files: no file may be written (RLIMIT_FSIZE 0), at most 32 descriptors, no core dump.
public struct SandboxLimits: Sendable, Equatable {
    public var addressSpaceBytes: Int
    public var cpuSeconds: Int
    public var wallSeconds: Int
    public var openFiles: Int

    public init(addressSpaceBytes: Int, cpuSeconds: Int = 60, wallSeconds: Int = 120, openFiles: Int = 32) {
        self.addressSpaceBytes = addressSpaceBytes
        self.cpuSeconds = cpuSeconds
        self.wallSeconds = wallSeconds
        self.openFiles = openFiles
    }

    static let addressSpaceFloor = 1 << 30

    /// The caps for reading a file of `size` bytes.
    public static func forFile(size: Int, archive: Bool) -> SandboxLimits {
        let factor = archive ? 8 : 4
        let (scaled, o1) = max(0, size).multipliedReportingOverflow(by: factor)
        let (total, o2) = addressSpaceFloor.addingReportingOverflow(scaled)
        return SandboxLimits(addressSpaceBytes: o1 || o2 ? Int.max : total)
    }

    /// How many bytes the result memory may need: what the reader's own budget lets one file
    /// claim (8 x its size + 64 MiB of tensors; a `.keras` archive's weights member may be
    /// 16 x + 64 MiB of the archive), plus the metadata section. Sparse until the child writes.
    static func resultCapacity(size: Int, archive: Bool) -> Int {
        let s = max(0, size)
        let member = archive ? min(8 << 30, (64 << 20) &+ s.multipliedReportingOverflow(by: 16).partialValue) : s
        let (tensors, o) = member.multipliedReportingOverflow(by: 8)
        return o ? Int.max / 2 : tensors + (64 << 20) + ResultLayout.maxMetaBytes + ResultLayout.headerSize + ResultLayout.alignment
    }

    var childArguments: [String] {
        ["--address-space", String(addressSpaceBytes), "--cpu", String(cpuSeconds), "--open-files", String(openFiles)]
    }
}

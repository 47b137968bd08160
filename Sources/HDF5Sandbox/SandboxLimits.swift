import Foundation

/// What the reader process may use. The defaults (`forFile`) are the documented caps:
///
/// - address space: 1 GiB + 4 x the file's size (a `.keras` archive: 1 GiB + 8 x, for the
///   extracted `model.weights.h5` and libhdf5's in-memory copy of it). Measured (debug build,
///   smallest cap that still reads, 16 MiB steps): 284 MiB for a 2 MiB file, 410 MiB for 62 MiB,
///   536 MiB for the 124 MiB official-size file, whose cap is 1.5 GiB (BENCHMARKS.md);
/// - CPU: 2 s + 1 s per 8 MiB of file (a `.keras` archive, which the child inflates: per 4 MiB),
///   SIGXCPU then, SIGKILL a second later. A damaged file that makes libhdf5 spin (a global heap
///   object of size 0 loops its deserializer forever) is so refused within seconds, while an
///   honest file never comes near: reading the 65 MB official-shape fixture takes 1.0 s of CPU
///   for the parent and the child together (debug build), 10x below its cap of 10 s
///   (RELIABILITY.md);
/// - wall clock: the CPU limit + 2 s, after which the parent kills the child;
/// - files: no file may be written (RLIMIT_FSIZE 0), at most 32 descriptors, no core dump.
///
/// `GENESIS_HDF5_CPU_SECONDS=N` overrides the CPU limit (the wall clock follows: N + 2).
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

    /// The environment variable that overrides the CPU limit, in whole seconds (1...86400).
    public static let cpuVariable = "GENESIS_HDF5_CPU_SECONDS"
    static let cpuFloorSeconds = 2
    /// File bytes per CPU second beyond the floor (8 MiB; an archive 4 MiB).
    static let bytesPerCPUSecond = 8 << 20

    /// The CPU limit for a file of `size` bytes (see the type's doc).
    public static func cpuSeconds(size: Int, archive: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let text = environment[cpuVariable], let n = Int(text), (1...86_400).contains(n) { return n }
        let rate = archive ? bytesPerCPUSecond / 2 : bytesPerCPUSecond
        let s = max(0, size)
        return cpuFloorSeconds + s / rate + (s % rate == 0 ? 0 : 1)
    }

    static let addressSpaceFloor = 1 << 30

    /// The caps for reading a file of `size` bytes.
    public static func forFile(size: Int, archive: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> SandboxLimits {
        let factor = archive ? 8 : 4
        let (scaled, o1) = max(0, size).multipliedReportingOverflow(by: factor)
        let (total, o2) = addressSpaceFloor.addingReportingOverflow(scaled)
        let cpu = cpuSeconds(size: size, archive: archive, environment: environment)
        return SandboxLimits(addressSpaceBytes: o1 || o2 ? Int.max : total, cpuSeconds: cpu, wallSeconds: cpu + 2)
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

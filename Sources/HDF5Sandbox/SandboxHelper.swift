import Foundation

/// How the HDF5 sandbox starts its reader process, the child in which libhdf5 reads a file.
/// Every way gives the child the same descriptors (the file on 3, the result memory on 4,
/// 0-2 on /dev/null, nothing else), the same limits (`SandboxLimits`) and the same answer
/// (`ResultLayout`); a child that dies is the same one-line `SandboxError.unsafe`.
///
/// Every read that names none (`HDF5Isolation.standard`, `ModelLoader.load`) uses `.automatic`,
/// which works in any program; a program names another per read (`HDF5Isolation.sandboxed(_:)`,
/// `SandboxedKerasReader.read(helper:)`) or for the whole process with `GENESIS_HDF5_HELPER`.
public enum SandboxHelper: Sendable, Equatable, CustomStringConvertible {
    /// This program, started with `posix_spawn` and `SandboxChild.subcommand` as its first
    /// argument: `genesis-hdf5-helper` (a product of this package), `genesis`, or any program
    /// that calls `SandboxChild.serveIfAsked()` first thing. No environment is passed on.
    case executable(String)
    /// `fork()` without `exec`: the forked copy of this process sets its limits, reads the file
    /// and `_exit`s. No helper binary is needed. The trade-off: the child starts as a copy of a
    /// process that may have other threads; a lock one of them held at the fork stays held in
    /// the child, which then blocks until the wall-clock limit stops it (an honest file refused
    /// as if it were hostile, rare, and never a hang or a crash of the caller). A program that
    /// reads HDF5 files while other threads work should name an executable. The address-space
    /// limit counts on top of what the process had mapped at the fork.
    case fork
    /// `GENESIS_HDF5_HELPER` when it is set; else `genesis-hdf5-helper` found beside the calling
    /// executable (the directory of `/proc/self/exe`) or beside an XCTest bundle; else `.fork`.
    case automatic

    /// The helper executable this package builds (`swift build --product genesis-hdf5-helper`).
    public static let executableName = "genesis-hdf5-helper"
    /// Names the helper executable for `.automatic` (a path to `genesis-hdf5-helper` or `genesis`).
    public static let variable = "GENESIS_HDF5_HELPER"

    public var description: String {
        switch self {
        case let .executable(path): return path
        case .fork: return "the forked reader"
        case .automatic: return "the automatic choice"
        }
    }

    /// `.automatic` made concrete (`.executable` or `.fork`) for this process; the others as they are.
    public func resolved() -> SandboxHelper {
        resolved(environment: ProcessInfo.processInfo.environment, callerDirectories: Self.callerDirectories())
    }

    /// `.automatic` made concrete from an environment and the directories to look in, in order.
    public func resolved(environment: [String: String], callerDirectories: [String]) -> SandboxHelper {
        guard self == .automatic else { return self }
        if let named = environment[Self.variable], !named.isEmpty { return .executable(named) }
        for dir in callerDirectories {
            let candidate = URL(fileURLWithPath: dir).appendingPathComponent(Self.executableName).path
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return .executable(candidate) }
        }
        return .fork
    }

    /// Where `.automatic` looks for `genesis-hdf5-helper`: the calling executable's directory,
    /// then the directories of loaded XCTest bundles.
    public static func callerDirectories() -> [String] {
        var dirs: [String] = []
        if let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dirs.append(URL(fileURLWithPath: me).deletingLastPathComponent().path)
        }
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            let dir = b.bundleURL.deletingLastPathComponent().path
            if !dirs.contains(dir) { dirs.append(dir) }
        }
        return dirs
    }
}

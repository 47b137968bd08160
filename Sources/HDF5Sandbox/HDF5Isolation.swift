import Foundation
import KerasFormat

/// Where libhdf5 reads a file: in a sandboxed child process (the default for every file), or in
/// this process, a choice each caller names with its reason.
public enum HDF5Isolation: Sendable, Equatable {
    /// In a child process with limits (`SandboxedKerasReader`), started as the helper says.
    case sandboxed(SandboxHelper)
    /// In this process.
    case inProcess(InProcessReason)

    public enum InProcessReason: String, Sendable {
        /// The file is one this process has just written itself (a conversion's read-back).
        case writtenByThisProcess
        /// `GENESIS_HDF5_IN_PROCESS=1` (tests and debugging).
        case forcedByEnvironment
    }

    /// Forces in-process reads when set to 1.
    public static let inProcessVariable = "GENESIS_HDF5_IN_PROCESS"

    /// The default: sandboxed with `SandboxHelper.automatic`, unless `GENESIS_HDF5_IN_PROCESS=1`.
    public static var standard: HDF5Isolation {
        ProcessInfo.processInfo.environment[inProcessVariable] == "1" ? .inProcess(.forcedByEnvironment) : .sandboxed(.automatic)
    }

    /// Reads a Keras HDF5 file (`archive`: a `.keras` zip around one) as this choice says.
    public func readKeras(_ path: String, archive: Bool) throws -> KerasModelFile {
        switch self {
        case let .sandboxed(helper): return try SandboxedKerasReader.read(path, archive: archive, helper: helper)
        case .inProcess: return try KerasReader.read(path, asArchive: archive)
        }
    }
}

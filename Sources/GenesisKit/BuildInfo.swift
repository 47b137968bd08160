import CBuildInfo
import Foundation
import GenesisIO
import HDF5
import Runtime3D
import VolumeIO
import Zoo

/// What `genesis --version` says: the version (one source: the VERSION file, which
/// `GenesisWriter.version` equals, checked by BuildInfoTests), the commit, and the versions of
/// the libraries this process runs on.
public enum BuildInfo {
    /// The release version, as in the repository's VERSION file.
    public static var version: String { GenesisWriter.version }

    /// Where the commit came from.
    public enum CommitSource: String, Sendable {
        /// Linked into a release by `make dist`.
        case builtIn = "built in"
        /// Read from git in the clone the executable was built in (a development build).
        case git = "read from the clone's git"
    }

    /// The commit of this build: the one `make dist` linked in, else the clone's HEAD (when the
    /// executable lives in a clone and git is there), else nil.
    public static func commit(executable: String = ZooContext.executablePath) -> (id: String, source: CommitSource)? {
        if let p = genesis_build_commit() { return (String(cString: p), .builtIn) }
        guard let zoo = ManifestCatalog.repositoryZooDirectory(executable: executable) else { return nil }
        let root = URL(fileURLWithPath: zoo).deletingLastPathComponent().path
        guard let head = git(["-C", root, "rev-parse", "--short=12", "HEAD"]), !head.isEmpty else { return nil }
        let dirty = git(["-C", root, "status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
        return (head + (dirty ? "-dirty" : ""), .git)
    }

    /// The libraries, name and version, in the order --version prints them.
    public static func libraries() -> [(name: String, version: String)] {
        let core = OpenBLASInfo.coreName
        return [
            ("libhdf5", hdf5LibraryVersion),
            ("OpenBLAS", "\(OpenBLASInfo.config) (core \(core.isEmpty ? "unknown" : core))"),
            ("libnifti2", VolumeLibraries.nifti),
            ("libpng", VolumeLibraries.png),
            ("zlib", VolumeLibraries.zlib),
            ("Open MPI", "not linked: loaded (libmpi.so.40, Open MPI 3 to 5) only by pretrain and finetune started by mpirun or srun"),
        ]
    }

    /// The text of `genesis --version`.
    public static func text() -> String {
        var lines = ["genesis \(version)"]
        if let c = commit() {
            lines.append("commit: \(c.id) (\(c.source.rawValue))")
        } else {
            lines.append("commit: unknown (not a release, and no clone with git around the executable)")
        }
        for (name, v) in libraries() { lines.append("\(name): \(v)") }
        return lines.joined(separator: "\n")
    }

    private static func git(_ arguments: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git"] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

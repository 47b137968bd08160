#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a writer writes: the name a user knows it by, the endings its file names take, and how
/// an existing file of that kind is recognised (so that replacing it needs no --force).
public struct OutputKind: Sendable {
    /// "cubes (.npy)", "a NIfTI scan (.nii, .nii.gz)".
    public let name: String
    /// Lower-case endings, the first the one suggested ("pred" -> "pred.npy").
    public let extensions: [String]
    public let recognises: @Sendable ([UInt8]) -> Bool

    public init(name: String, extensions: [String], recognises: @escaping @Sendable ([UInt8]) -> Bool) {
        self.name = name
        self.extensions = extensions
        self.recognises = recognises
    }

    public static let npy = OutputKind(name: "a NumPy array (.npy)", extensions: [".npy"], recognises: FileKind.isNPY)
    public static let nifti = OutputKind(name: "a NIfTI scan (.nii, .nii.gz)", extensions: [".nii.gz", ".nii"], recognises: FileKind.isNIfTI)
    public static let png = OutputKind(name: "a PNG image (.png)", extensions: [".png"], recognises: FileKind.isPNG)

    /// The ending of `path` this kind writes, if any (case-insensitive).
    public func matchingExtension(_ path: String) -> String? {
        let lower = path.lowercased()
        return extensions.first { lower.hasSuffix($0) }
    }

    /// `path` with its last ending (or `.nii.gz`) replaced by this kind's first one.
    public func suggestedName(for path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        var stem = String(path[slash...])
        for two in [".nii.gz", ".weights.h5"] where stem.lowercased().hasSuffix(two) { stem.removeLast(two.count) }
        if stem.count == String(path[slash...]).count, let dot = stem.lastIndex(of: "."), dot != stem.startIndex {
            stem = String(stem[..<dot])
        }
        return String(path[..<slash]) + stem + (extensions.first ?? "")
    }
}

/// A writer's refusal of its output path: one line in the user's terms, exit 2.
public struct OutputRefusal: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}

/// The checks every writer makes before it writes anything: the folder exists, the name ends
/// as what is written, the output is none of the inputs (device and inode after following
/// symlinks, so a symlink or a hard link to an input counts), and an existing file of another
/// kind is replaced only with --force.
public enum OutputGuard {
    /// - Parameters:
    ///   - inputs: files the command reads (nil entries and paths that do not exist are skipped).
    ///   - extensionChecked: false when the caller has already matched the name to a format.
    public static func check(_ output: String, writes kind: OutputKind, inputs: [String?], force: Bool,
                             extensionChecked: Bool = true) throws {
        try checkFolder(output)
        if extensionChecked, kind.matchingExtension(output) == nil {
            throw OutputRefusal(path: output, message: "this writes \(kind.name), so the name must end \(kind.extensions.joined(separator: " or ")): e.g. \(kind.suggestedName(for: output))")
        }
        try checkNotInput(output, inputs: inputs.compactMap { $0 })
        try checkReplaceable(output, kind: kind, force: force)
    }

    /// "nodir/ does not exist" when the folder that would hold `output` is missing.
    public static func checkFolder(_ output: String) throws {
        guard let slash = output.lastIndex(of: "/") else { return }
        let folder = String(output[...slash])
        var st = stat()
        guard stat(folder, &st) == 0 else {
            throw OutputRefusal(path: output, message: "\(folder) does not exist")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw OutputRefusal(path: output, message: "\(folder) is not a folder") }
    }

    /// Refuses an output that is one of the inputs, under any name.
    public static func checkNotInput(_ output: String, inputs: [String]) throws {
        var out = stat()
        guard stat(output, &out) == 0 else { return }   // nothing there yet: no input either
        for input in inputs {
            var inp = stat()
            guard stat(input, &inp) == 0, inp.st_dev == out.st_dev, inp.st_ino == out.st_ino else { continue }
            let how = input == output ? "" : " (the same file under another name, a symlink or a hard link)"
            throw OutputRefusal(path: output, message: "is the input \(input)\(how); writing it would destroy the input: choose another output name")
        }
    }

    /// Refuses to replace an existing file that is not of `kind` unless `force`.
    public static func checkReplaceable(_ output: String, kind: OutputKind, force: Bool) throws {
        guard FileIO.exists(output) else { return }
        _ = try FileIO.resolvedOutput(output)   // a FIFO, device or folder is refused whatever --force says
        guard !force else { return }
        let prefix = (try? FileIO.readPrefix(output, count: FileKind.prefixBytes)) ?? []
        guard !kind.recognises(prefix) else { return }
        throw OutputRefusal(path: output, message: "exists and is \(FileKind.describe(prefix: prefix)), not \(kind.name); --force replaces it")
    }
}

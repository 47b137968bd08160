import Foundation
import Tensors

/// Two damaged HDF5 files made from the shared fixtures that libhdf5 1.10.8 cannot survive in
/// process: one crashes it, one makes it spin forever. For the sandbox's tests (the command
/// line's in Tests/CLITests/SandboxCLITests.swift, each helper's in Tests/HDF5SandboxTests).
public enum HostileHDF5Files {
    public struct RecipeError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Found by `scripts/find_hdf5_crashes.py` (seed 16 on genesis_tiny.h5, minimised): three
    /// bytes of a symbol-table entry in the group node (`SNOD`) at 77320 overwritten. Debian's
    /// libhdf5 1.10.8 dies of SIGSEGV inside libhdf5 opening it; h5py's HDF5 1.14.6 opens it.
    public static let crashingEdit: (offset: Int, bytes: [UInt8]) = (77812, [0xd5, 0x74, 0xe4])

    /// `dir/damaged.h5`: keras/genesis_tiny.h5 with `crashingEdit` (checked to be the exact fixture
    /// the recipe is for).
    public static func crashing(in dir: String) throws -> String {
        let source = Fixtures.path("keras/genesis_tiny.h5")
        let sha = try Checksum.sha256Hex(fileAt: source)
        guard sha == "83a778dbed1f725b2287868f31e818f9be3fc1c3d4f5213982e528bb08e5f625" else {
            throw RecipeError(description: "the crashing recipe is for another genesis_tiny.h5 (SHA-256 \(sha))")
        }
        var bytes = try FileIO.read(source)
        bytes.replaceSubrange(crashingEdit.offset..<(crashingEdit.offset + 3), with: crashingEdit.bytes)
        let path = dir + "/damaged.h5"
        try FileIO.write(bytes, to: path)
        return path
    }

    /// A real spin: libhdf5 1.10.8 deserializes a global heap collection (`GCOL`) object by
    /// object, and an object with index 0 and size 0 moves it by 0 bytes: its loop never ends.
    /// `dir/spinning.h5`: two fields of the first object of genesis_tiny_weights.h5's first
    /// collection set so (a 1.1 MB file: CPU cap 3 s); in process it would hang forever.
    public static func spinning(in dir: String) throws -> String {
        var bytes = try FileIO.read(Fixtures.path("keras/genesis_tiny_weights.h5"))
        let signature = Array("GCOL".utf8)
        guard let at = (0..<(bytes.count - 32)).first(where: { Array(bytes[$0..<($0 + 4)]) == signature }) else {
            throw RecipeError(description: "no global heap collection in genesis_tiny_weights.h5")
        }
        bytes.replaceSubrange((at + 16)..<(at + 18), with: [0, 0])          // heap object index 0
        bytes.replaceSubrange((at + 24)..<(at + 32), with: [UInt8](repeating: 0, count: 8))   // object size 0
        let path = dir + "/spinning.h5"
        try FileIO.write(bytes, to: path)
        return path
    }
}

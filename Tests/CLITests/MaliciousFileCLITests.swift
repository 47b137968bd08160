import Foundation
import Tensors
import TestSupport
import XCTest

/// A PyTorch file whose pickle would run a shell command: refused by name, exit 2, nothing run.
final class MaliciousFileCLITests: XCTestCase {
    func testPickleCallingPosixSystemIsRefusedWithoutSideEffect() throws {
        let dir = Fixtures.scratchDirectory()
        let marker = dir + "/pwned"
        // Legacy torch layout: the magic-number pickle, then a pickle doing posix.system("touch ...").
        let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        let command = Array("touch \(marker)".utf8)
        var evil: [UInt8] = [0x80, 0x02, UInt8(ascii: "c")] + Array("posix\nsystem\n".utf8)
        evil += [UInt8(ascii: "X")] + withUnsafeBytes(of: UInt32(command.count).littleEndian) { Array($0) } + command
        evil += [0x85, UInt8(ascii: "R"), UInt8(ascii: ".")]  // TUPLE1, REDUCE, STOP
        // With torch's magic number it reaches the unpickler, which refuses the global by name;
        // a bare pickle is not a torch file at all and is refused before any unpickling.
        for (name, bytes, reason) in [("legacy.pt", magic + evil, "posix.system"), ("bare.pt", evil, "unknown format")] {
            try FileIO.write(bytes, to: dir + "/" + name)
            for command in ["inspect", "verify", "convert"] {
                let args = command == "convert" ? [command, dir + "/" + name, dir + "/out.genesis"] : [command, dir + "/" + name]
                let r = try runProcess(Fixtures.genesisBinary, args)
                XCTAssertEqual(r.status, 2, "\(name) \(command): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(reason), "\(name) \(command): \(r.stderr)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the pickle's command ran")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out.genesis"))
    }
}

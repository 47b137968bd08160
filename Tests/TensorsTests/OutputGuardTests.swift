import Foundation
import Tensors
import XCTest

/// OutputGuard: the checks every writer makes before writing, one line each naming the problem.
final class OutputGuardTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "outputguard-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func refusal(_ body: () throws -> Void) -> String? {
        do { try body() } catch let r as OutputRefusal { return r.description } catch { return "other error: \(error)" }
        return nil
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let p = dir + "/" + name
        try FileIO.write(bytes, to: p)
        return p
    }

    let npyMagic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
    let hdf5Magic: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    func testTheInputUnderAnyNameIsRefused() throws {
        let input = try write(npyMagic, "c.npy")
        symlink(input, dir + "/link.npy")
        link(input, dir + "/hard.npy")
        XCTAssertEqual(refusal { try OutputGuard.check(input, writes: .npy, inputs: [input], force: true) },
                       "\(input): is the input \(input); writing it would destroy the input: choose another output name")
        for other in ["link.npy", "hard.npy"] {
            let message = refusal { try OutputGuard.check(self.dir + "/" + other, writes: .npy, inputs: [nil, input], force: true) }
            XCTAssertEqual(message, "\(dir)/\(other): is the input \(input) (the same file under another name, a symlink or a hard link); writing it would destroy the input: choose another output name")
        }
        // Another file, and a name not there yet, pass.
        XCTAssertNil(refusal { try OutputGuard.check(self.dir + "/new.npy", writes: .npy, inputs: [input], force: false) })
        let other = try write(npyMagic, "other.npy")
        XCTAssertNil(refusal { try OutputGuard.check(other, writes: .npy, inputs: [input], force: false) })
    }

    func testAMissingFolderIsNamed() {
        XCTAssertEqual(refusal { try OutputGuard.check("nodir/t.h5", writes: .npy, inputs: [], force: false) }, "nodir/t.h5: nodir/ does not exist")
        XCTAssertEqual(refusal { try OutputGuard.checkFolder(self.dir + "/a/b/o.npy") }, "\(dir)/a/b/o.npy: \(dir)/a/b/ does not exist")
    }

    func testTheNameMustEndAsWhatIsWritten() {
        XCTAssertEqual(refusal { try OutputGuard.check(self.dir + "/pred.nii.gz", writes: .npy, inputs: [], force: true) },
                       "\(dir)/pred.nii.gz: this writes a NumPy array (.npy), so the name must end .npy: e.g. \(dir)/pred.npy")
        XCTAssertEqual(refusal { try OutputGuard.check("o.txt", writes: .nifti, inputs: [], force: true) },
                       "o.txt: this writes a NIfTI scan (.nii, .nii.gz), so the name must end .nii.gz or .nii: e.g. o.nii.gz")
        XCTAssertNil(refusal { try OutputGuard.check(self.dir + "/P.NPY", writes: .npy, inputs: [], force: false) })
        XCTAssertNil(refusal { try OutputGuard.check(self.dir + "/p.nii", writes: .nifti, inputs: [], force: false) })
        XCTAssertEqual(OutputKind.png.suggestedName(for: "a/b.c/plot"), "a/b.c/plot.png")
    }

    func testAFileOfAnotherKindIsReplacedOnlyWithForce() throws {
        let model = try write(hdf5Magic + [0, 0], "mine.npy")
        XCTAssertEqual(refusal { try OutputGuard.check(model, writes: .npy, inputs: [], force: false) },
                       "\(model): exists and is an HDF5 file (a Keras model, .h5), not a NumPy array (.npy); --force replaces it")
        XCTAssertNil(refusal { try OutputGuard.check(model, writes: .npy, inputs: [], force: true) })
        let text = try write(Array("hello\n".utf8), "p.nii.gz")
        XCTAssertEqual(refusal { try OutputGuard.check(text, writes: .nifti, inputs: [], force: false) },
                       "\(text): exists and is a text file, not a NIfTI scan (.nii, .nii.gz); --force replaces it")
        let npy = try write(npyMagic, "old.npy")
        XCTAssertNil(refusal { try OutputGuard.check(npy, writes: .npy, inputs: [], force: false) })
        // A folder is never replaced, --force or not.
        try FileManager.default.createDirectory(atPath: dir + "/d.npy", withIntermediateDirectories: false)
        for force in [false, true] {
            XCTAssertThrowsError(try OutputGuard.check(dir + "/d.npy", writes: .npy, inputs: [], force: force)) { error in
                XCTAssertEqual("\(error)", "\(self.dir)/d.npy: is a directory, not a regular file")
            }
        }
    }

    func testFileKindNamesWhatAFileIs() {
        XCTAssertEqual(FileKind.describe(prefix: hdf5Magic), "an HDF5 file (a Keras model, .h5)")
        XCTAssertEqual(FileKind.describe(prefix: npyMagic), "a NumPy array (.npy)")
        XCTAssertEqual(FileKind.describe(prefix: [0x50, 0x4B, 0x03, 0x04, 0]), "a zip archive (a PyTorch .pt, a Keras .keras or a NumPy .npz)")
        XCTAssertEqual(FileKind.describe(prefix: [0x1F, 0x8B, 8]), "a gzip file (e.g. a .nii.gz scan)")
        XCTAssertEqual(FileKind.describe(prefix: []), "an empty file")
        XCTAssertEqual(FileKind.describe(prefix: Array("ObjectType = Image\n".utf8)), "a MetaImage scan (.mhd, .mha)")
        var nifti = [UInt8](repeating: 0, count: 352)
        nifti[0] = 0x5C; nifti[1] = 0x01
        nifti.replaceSubrange(344..<348, with: Array("n+1\0".utf8))
        XCTAssertEqual(FileKind.describe(prefix: nifti), "a NIfTI scan (.nii)")
        XCTAssertTrue(FileKind.isNIfTI(nifti))
        XCTAssertEqual(FileKind.describe(prefix: [0x00, 0xFF, 0x13]), "a file of no kind genesis knows")
    }
}

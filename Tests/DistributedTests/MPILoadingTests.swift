import CMPI
import Foundation
import TestSupport
import XCTest

/// Open MPI is loaded at run time (Sources/CMPI): nothing links libmpi, so the tool and its
/// release run without MPI. The constants cmpi.h takes from Open MPI's ABI are mpi.h's, the
/// library loads here and names itself, and a run under a launcher without it is one line.
final class MPILoadingTests: XCTestCase {
    func testTheABIConstantsAreMPIHeaders() throws {
        let dir = Fixtures.scratchDirectory("mpiabi")
        let source = dir + "/abi.c"
        try """
        #include <mpi.h>
        #include <stdio.h>
        int main(void) {
            printf("%d %d %d %p %p %p\\n", MPI_SUCCESS, MPI_THREAD_MULTIPLE, MPI_MAX_ERROR_STRING, MPI_IN_PLACE, (void *)MPI_STATUS_IGNORE, (void *)MPI_STATUSES_IGNORE);
            return 0;
        }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let build = try runProcess("/usr/bin/mpicc", [source, "-o", dir + "/abi"])
        XCTAssertEqual(build.status, 0, build.stderr)
        let r = try runProcess(dir + "/abi", [])
        XCTAssertEqual(r.status, 0, r.stderr)
        let expected = "\(CMPI_SUCCESS) \(CMPI_THREAD_MULTIPLE) \(CMPI_MAX_ERROR_STRING) 0x1 (nil) (nil)"
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), expected)
        // Nothing links libmpi: the tool's binary does not name it.
        let ldd = try runProcess("/usr/bin/ldd", [Fixtures.genesisBinary])
        XCTAssertFalse(ldd.stdout.contains("libmpi"), ldd.stdout)
    }

    func testTheLibraryLoadsWithEveryFunctionAndNamesItself() throws {
        var message = [CChar](repeating: 0, count: 512)
        XCTAssertEqual(cmpi_load(nil, &message, Int32(message.count)), 0, String(cString: message))
        XCTAssertEqual(String(cString: message), CMPI_LIBRARY)
        var version = [CChar](repeating: 0, count: 512)
        cmpi_library_version(&version, Int32(version.count))
        XCTAssertTrue(String(cString: version).hasPrefix("Open MPI v"), String(cString: version))
    }

    func testARunUnderALauncherWithoutOpenMPIIsOneLine() throws {
        let dir = Fixtures.scratchDirectory("nompi")
        let r = try runProcess(Fixtures.genesisBinary, ["pretrain", "--init", Fixtures.path("keras/genesis_tiny.h5"), "--data", "x.npy", "--steps", "1", "--out", "p.h5"],
                               cwd: dir, environment: ["OMPI_COMM_WORLD_SIZE": "2", "GENESIS_LIBMPI": dir + "/no-such/libmpi.so.40"])
        XCTAssertEqual(r.status, 2, r.stderr)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("started by an MPI launcher, but Open MPI's library \(dir)/no-such/libmpi.so.40 cannot be loaded"), r.stderr)
        XCTAssertTrue(r.stderr.contains("GENESIS_LIBMPI"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/p.h5"))
    }
}

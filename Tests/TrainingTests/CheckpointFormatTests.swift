import FormatNames
import GenesisIO
import Training
import XCTest

/// Which formats a run may checkpoint to comes from the `FormatNames` table: its framework's own
/// format (`FrameworkName.checkpointFormat`) or `.genesis`.
final class CheckpointFormatTests: XCTestCase {
    func testFrameworksAreTheTables() {
        XCTAssertEqual(Framework.allCases.map(\.rawValue), FrameworkName.allCases.map(\.rawValue))
    }

    func testEachFrameworkCheckpointsToItsFormatOrNative() throws {
        XCTAssertEqual(TrainingCheckpoint.allowedExtensions(.keras), [".h5", ".genesis"])
        XCTAssertEqual(TrainingCheckpoint.allowedExtensions(.torch), [".pt", ".genesis"])
        XCTAssertEqual(try TrainingCheckpoint.format(for: "run.h5", framework: .keras), .kerasH5)
        XCTAssertEqual(try TrainingCheckpoint.format(for: "run.pt", framework: .torch), .torch)
        XCTAssertEqual(try TrainingCheckpoint.format(for: "run.genesis", framework: .torch), .native)
        XCTAssertThrowsError(try TrainingCheckpoint.format(for: "run.pt", framework: .keras))
        XCTAssertThrowsError(try TrainingCheckpoint.format(for: "run.weights.h5", framework: .keras))
        XCTAssertThrowsError(try TrainingCheckpoint.format(for: "run.safetensors", framework: .torch))
    }
}

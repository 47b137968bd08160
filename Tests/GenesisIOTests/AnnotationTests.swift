import GenesisIO
import GenesisModel
import Tensors
import TestSupport
import XCTest

/// `genesis_*` annotations (a training run's progress, `genesis_run`) survive a write and a read
/// in every checkpoint format that carries optimizer state, byte for byte.
final class AnnotationTests: XCTestCase {
    func testAnnotationsRoundTripInKerasTorchAndNative() throws {
        let dir = Fixtures.scratchDirectory()
        let run = #"{"step":3,"losses":[0.1,0.25],"text":"a \"quoted\" é"}"#
        for (source, out) in [("keras/genesis_tiny.h5", "a.h5"), ("torch/genesis_tiny.pt", "b.pt"), ("keras/genesis_tiny.h5", "c.genesis")] {
            var p = try ModelLoader.load(Fixtures.path(source)).payload()
            p.annotations = ["genesis_run": run, "genesis_note": "x"]
            let path = dir + "/" + out
            try ModelWriter.write(p, to: path, format: try XCTUnwrap(FormatKind.fromExtension(path)))
            let back = try ModelLoader.load(path)
            XCTAssertEqual(back.annotations, ["genesis_run": run, "genesis_note": "x"], out)
            XCTAssertNil(back.annotations[GenesisWriter.key], "the writer's own entry is not an annotation")
        }
    }
}

import FormatNames
import Foundation
import NativeCheckpoint
import SafeTensors
import TestSupport
import XCTest

/// The fields the writer puts in the metadata document are the ones
/// schemas/native-checkpoint.schema.json describes, level by level, required ones included.
final class NativeSchemaFieldsTests: XCTestCase {
    func testWrittenDocumentHasTheSchemasFields() throws {
        let schemaData = try Data(contentsOf: URL(fileURLWithPath: Fixtures.repoRoot + "/schemas/native-checkpoint.schema.json"))
        let schema = try XCTUnwrap(JSONSerialization.jsonObject(with: schemaData) as? [String: Any])
        let defs = try XCTUnwrap(schema["$defs"] as? [String: Any])
        let file = try SafeTensors.read(bytes: try NativeCheckpointTests.sample().serialized())
        let text = try XCTUnwrap(file.metadata["genesis"])
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])

        func check(_ object: [String: Any], against def: [String: Any], _ at: String) {
            let properties = Set((def["properties"] as? [String: Any])?.keys.map { $0 } ?? [])
            let required = Set(def["required"] as? [String] ?? [])
            XCTAssertTrue(Set(object.keys).isSubset(of: properties), "\(at): \(Set(object.keys).subtracting(properties)) not in the schema")
            XCTAssertTrue(required.isSubset(of: Set(object.keys)), "\(at): required \(required.subtracting(object.keys)) not written")
        }
        check(doc, against: schema, "document")
        for level in ["architecture", "provenance", "training"] {
            let object = try XCTUnwrap(doc[level] as? [String: Any], level)
            check(object, against: try XCTUnwrap(defs[level] as? [String: Any]), level)
        }
        let optimizer = try XCTUnwrap((doc["training"] as? [String: Any])?["optimizer"] as? [String: Any])
        check(optimizer, against: try XCTUnwrap(defs["optimizer"] as? [String: Any]), "training.optimizer")
        XCTAssertEqual((defs["convention"] as? [String: Any])?["enum"] as? [String], FrameworkName.allCases.map(\.rawValue))
        XCTAssertEqual((schema["properties"] as? [String: Any]).flatMap { ($0["format"] as? [String: Any])?["const"] as? String },
                       FormatName.native.rawValue)
    }
}

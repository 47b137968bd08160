import GenesisKit
import XCTest

/// The library's text helpers, on hand-worked values.
final class TextFormatTests: XCTestCase {
    func testControlCharactersAreEscapedAndNewlinesKeptOnlyWhenAsked() {
        XCTAssertEqual(TextFormat.terminalSafe("a\u{1b}[2Jb\r\n\t\0"), "a\\x1b[2Jb\\r\\n\\t\\0")
        XCTAssertEqual(TextFormat.terminalSafe("a\nb", keepNewlines: true), "a\nb")
    }

    func testNumbersShapesAndJSON() {
        XCTAssertEqual(TextFormat.grouped(16_320_257), "16,320,257")
        XCTAssertEqual(TextFormat.grouped(-1000), "-1,000")
        XCTAssertEqual(TextFormat.shape([64, 64, 32]), "(64,64,32)")
        let clean = TextFormat.jsonSafe(["a": Float.nan, "b": nil, "c": [Float(1.5)]] as [String: Any?]) as! [String: Any]
        XCTAssertTrue(clean["a"] is NSNull)
        XCTAssertTrue(clean["b"] is NSNull)
        XCTAssertEqual(clean["c"] as? [Double], [1.5])
    }
}

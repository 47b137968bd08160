import VolumeIO
import XCTest

/// The preview font: every printable ASCII character has a glyph of its own that draws.
final class PreviewFontTests: XCTestCase {
    func testEveryPrintableASCIICharacterRendersItsOwnGlyph() throws {
        XCTAssertEqual(PreviewFont.characters.count, 95)
        var seen: [[String]: Character] = [:]
        for c in PreviewFont.characters {
            XCTAssertTrue(PreviewFont.covers(c), "no glyph for '\(c)'")
            let rows = try XCTUnwrap(PreviewFont.glyph(c))
            XCTAssertEqual(rows.count, PreviewFont.height, "'\(c)'")
            XCTAssertTrue(rows.allSatisfy { $0.count == PreviewFont.width && $0.allSatisfy { $0 == "#" || $0 == "." } }, "'\(c)': \(rows)")
            let ink = rows.joined().filter { $0 == "#" }.count
            if c == " " { XCTAssertEqual(ink, 0); continue }
            XCTAssertGreaterThan(ink, 0, "'\(c)' draws nothing")
            if let other = seen[rows] { XCTFail("'\(c)' and '\(other)' draw the same glyph") }
            seen[rows] = c
        }
        XCTAssertEqual(seen.count, 94)
    }

    /// The characters captions had lost, and capitals apart from lowercase.
    func testCaptionCharactersAndCapitals() throws {
        for c: Character in ["_", "[", "]"] { XCTAssertTrue(try XCTUnwrap(PreviewFont.glyph(c)).joined().contains("#"), "'\(c)'") }
        XCTAssertEqual(PreviewFont.glyph("_")?[7], "#####")   // below the baseline, like a real underscore
        XCTAssertNotEqual(PreviewFont.glyph("A"), PreviewFont.glyph("a"))
        XCTAssertNotEqual(PreviewFont.glyph("O"), PreviewFont.glyph("0"))
        XCTAssertNotEqual(PreviewFont.glyph("I"), PreviewFont.glyph("l"))
        // Outside ASCII: drawn as '?', so a caption never silently loses a character.
        XCTAssertEqual(PreviewFont.glyph("é"), PreviewFont.glyph("?"))
        XCTAssertEqual(PreviewFont.textWidth("a_[b]"), 5 * PreviewFont.advance - 1)
    }
}

import Foundation
import XCTest
@testable import PocketClipCore

final class TokenizerTest: XCTestCase {
    func testGoldenTextsGiveTheGoldenIds() throws {
        let manifest = try TestInputs.manifest()
        let tokenizer = try ClipTokenizer(manifest: manifest)
        let index = try TestInputs.goldenIndex(manifest)
        var pairs = zip(index.texts, try TestInputs.golden("ids.npy", manifest).intRows()).map { ($0, $1) }
        if let captions = index.galleryTexts {
            pairs += zip(captions, try TestInputs.golden("gallery_ids.npy", manifest).intRows()).map { ($0, $1) }
        }
        XCTAssertGreaterThanOrEqual(pairs.count, index.texts.count)
        for (text, expected) in pairs {
            XCTAssertEqual(tokenizer.tokenize(text), expected, "token ids of \(text.debugDescription)")
        }
    }

    func testCleaningFollowsPython() {
        XCTAssertEqual(TextCleaning.clean("  A  Photo\tof\n&amp;amp; “Cats”  "), "a photo of & \"cats\"")
        XCTAssertEqual(TextCleaning.clean("ﬁne ＡＢＣ"), "fine abc")
        XCTAssertEqual(TextCleaning.clean("caf\u{65}\u{301}"), "caf\u{e9}")  // NFC
        XCTAssertEqual(TextCleaning.clean("&#233;t&eacute &lt;b&gt;"), "été <b>")
    }
}

import Foundation
import XCTest
@testable import PocketClipCore

final class Float16Test: XCTestCase {
    func testRoundTripsLikeNumpy() throws {
        let manifest = try TestInputs.manifest()
        let gallery = try TestInputs.golden("gallery_image_embeddings.npy", manifest).floatRows()
        // The Python store holds the golden gallery's vectors as numpy's astype('<f2') bytes, in photo id order.
        let python = try SQLiteDriver(path: try TestInputs.pythonStore().path)
        let blobs = try python.query("SELECT e.vector FROM embeddings e JOIN photos p ON p.id = e.photo_id ORDER BY p.id", [])
            .map { $0[0].data ?? Data() }
        XCTAssertEqual(blobs.count, gallery.count, "the Python store holds the golden gallery")
        for (i, (vector, blob)) in zip(gallery, blobs).enumerated() {
            let encoded = Float16Codec.encode(vector)
            XCTAssertEqual(encoded, blob, "row \(i): float16 bytes differ from numpy's astype('<f2')")
            let decoded = Float16Codec.decode(encoded)
            for (a, b) in zip(decoded, vector) { XCTAssertLessThanOrEqual(abs(a - b), abs(b) / 2048 + 1e-7) }
            XCTAssertEqual(Float16Codec.encode(decoded), encoded, "float16 -> float32 -> float16 is exact")
        }
    }

    func testSpecialValues() {
        // numpy: np.array(VALUES, dtype=np.float32).astype('<f2').view('<u2')
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3c00), (65504, 0x7bff), (65519.99, 0x7bff), (65520, 0x7c00),
            (1e9, 0x7c00), (-Float.infinity, 0xfc00), (Float.infinity, 0x7c00),
            (5.9604645e-8, 0x0001), (2.9802322e-8, 0x0000), (4.4703484e-8, 0x0001), (2.9802326e-8, 0x0001),
            (1.0004883, 0x3c00), (1.0014648, 0x3c02), (0.1, 0x2e66), (-2.5e-5, 0x81a3), (6.1e-5, 0x03ff),
            (Float.nan, 0x7e00),
        ]
        for (value, bits) in cases {
            XCTAssertEqual(Float16Codec.halfBits(value), bits, "float16(\(value))")
        }
        XCTAssertEqual(Float16Codec.float(fromHalfBits: 0x7bff), 65504)
        XCTAssertEqual(Float16Codec.float(fromHalfBits: 0x0001), 5.9604645e-8)
        XCTAssertEqual(Float16Codec.float(fromHalfBits: 0x03ff), 6.097555e-5)
        XCTAssertTrue(Float16Codec.float(fromHalfBits: 0x7e00).isNaN)
        XCTAssertEqual(Float16Codec.float(fromHalfBits: 0xfc00), -Float.infinity)
        XCTAssertEqual(Float16Codec.float(fromHalfBits: 0x8000).sign, .minus)  // negative zero keeps its sign
        for h in 0 ... UInt16.max {  // every non-NaN half survives a round trip through float32
            let f = Float16Codec.float(fromHalfBits: h)
            if !f.isNaN { XCTAssertEqual(Float16Codec.halfBits(f), h, "half \(String(h, radix: 16))") }
        }
        XCTAssertEqual(Float16Codec.encode([1, -2]), Data([0x00, 0x3c, 0x00, 0xc0]))  // little-endian
    }
}

import Foundation
import XCTest
@testable import PocketClipCore

final class PreprocessTest: XCTestCase {
    /// One 8-bit level after normalisation: 1/255 divided by the smallest std.
    private func level(_ manifest: Manifest) -> Float { 1 / 255 / manifest.preprocess.std.min()! }

    private func maxAbsDiff(_ a: [Float], _ b: ArraySlice<Float>) -> Float {
        zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    }

    func testPngGoldenImageWithinOneLevel() throws {
        #if canImport(ImageIO)
        let manifest = try TestInputs.manifest()
        let index = try TestInputs.goldenIndex(manifest)
        let pngs = index.images.filter { $0.hasSuffix(".png") }
        XCTAssertFalse(pngs.isEmpty, "the golden set has a PNG")
        let reference = try TestInputs.golden("pixels.npy", manifest).floats()
        let width = 3 * manifest.preprocess.size * manifest.preprocess.size
        let size = manifest.preprocess.size
        var verticalFirst = 0
        for name in pngs {
            let row = try XCTUnwrap(index.images.firstIndex(of: name))
            let decoded = try ImageDecoding.decode(url: try manifest.verify("golden/\(name)"))
            if name == pngs.first {
                XCTAssertEqual(decoded.pixels.channels, 4, "the golden PNG has transparency to flatten")
            }
            let (w, h) = (decoded.pixels.width, decoded.pixels.height)
            let scale = Double(size) / Double(min(w, h))
            let outW = max(size, Int((Double(w) * scale).rounded())), outH = max(size, Int((Double(h) * scale).rounded()))
            if h - outH > 2 * (w - outW) { verticalFirst += 1 }
            let pixels = Preprocess.pixels(decoded.pixels, exifOrientation: decoded.exifOrientation, spec: manifest.preprocess)
            XCTAssertEqual(pixels.count, width)
            let diff = maxAbsDiff(pixels, reference[row * width ..< (row + 1) * width])
            print("PreprocessTest: \(name) max abs diff \(diff) (one level = \(level(manifest)))")
            XCTAssertLessThanOrEqual(diff, level(manifest) + 1e-6, name)
        }
        XCTAssertEqual(verticalFirst, 1, "one golden PNG is resized vertically first by Pillow")
        #else
        throw XCTSkip("needs ImageIO to decode the PNG")
        #endif
    }

    func testGallerySquaresNormaliseExactly() throws {
        let manifest = try TestInputs.manifest()
        let squares = try TestInputs.golden("gallery_squares.npy", manifest)
        let bytes = try squares.bytes()
        let size = manifest.preprocess.size
        let mean = manifest.preprocess.mean, std = manifest.preprocess.std
        let perImage = size * size * 3
        XCTAssertEqual(bytes.count, squares.shape[0] * perImage)
        for g in 0 ..< squares.shape[0] {
            let hwc = Array(bytes[g * perImage ..< (g + 1) * perImage])
            let chw = Preprocess.normalise(hwc, mean: mean, std: std)
            for c in 0 ..< 3 {
                for y in 0 ..< size {
                    for x in 0 ..< size {
                        // numpy: (x.astype(float32) / 255 - mean) / std, transposed to (3, H, W)
                        let v = Double(hwc[(y * size + x) * 3 + c])
                        let expected = (v / 255 - Double(mean[c])) / Double(std[c])
                        XCTAssertEqual(Double(chw[(c * size + y) * size + x]), expected, accuracy: 1e-6)
                    }
                }
            }
        }
    }

    func testJpegGoldenImagesReportDiff() throws {
        #if canImport(ImageIO)
        let manifest = try TestInputs.manifest()
        let index = try TestInputs.goldenIndex(manifest)
        let reference = try TestInputs.golden("pixels.npy", manifest).floats()
        let width = 3 * manifest.preprocess.size * manifest.preprocess.size
        let jpegs = index.images.enumerated().filter { $0.element.hasSuffix(".jpg") || $0.element.hasSuffix(".jpeg") }
        XCTAssertFalse(jpegs.isEmpty)
        for (row, name) in jpegs {
            let decoded = try ImageDecoding.decode(url: try manifest.verify("golden/\(name)"))
            let upright = Preprocess.oriented(decoded.pixels, exifOrientation: decoded.exifOrientation)
            if decoded.exifOrientation >= 5 {  // a quarter turn swaps the sides
                XCTAssertEqual(upright.width, decoded.pixels.height, name)
                XCTAssertEqual(upright.height, decoded.pixels.width, name)
            }
            let pixels = Preprocess.pixels(decoded.pixels, exifOrientation: decoded.exifOrientation, spec: manifest.preprocess)
            XCTAssertEqual(pixels.count, width, name)
            let diff = maxAbsDiff(pixels, reference[row * width ..< (row + 1) * width])
            print("PreprocessTest: \(name) EXIF orientation \(decoded.exifOrientation), \(upright.width)x\(upright.height) "
                + "upright, max abs diff vs Pillow \(diff) (\(diff / level(manifest)) levels)")
            // JPEG decoders differ (IDCT, chroma upsampling): within 3 levels, not bit-exact.
            XCTAssertLessThanOrEqual(diff, 3 * level(manifest) + 1e-6, name)
        }
        // golden_01.jpg is stored sideways with orientation 6 (exporter/golden.py).
        if let sideways = index.images.first(where: { $0.hasSuffix("_01.jpg") }) {
            let decoded = try ImageDecoding.decode(url: try manifest.verify("golden/\(sideways)"))
            XCTAssertEqual(decoded.exifOrientation, 6)
            let upright = Preprocess.oriented(decoded.pixels, exifOrientation: decoded.exifOrientation)
            XCTAssertGreaterThan(upright.width, upright.height, "shown upright, the picture is landscape")
        }
        #else
        throw XCTSkip("needs ImageIO to decode the JPEGs")
        #endif
    }

    func testOrientationAndFlatteningFollowPillow() {
        // 2x1 RGBA: an opaque red pixel, then a half-transparent blue one over white.
        let image = PixelBuffer(width: 2, height: 1, channels: 4, bytes: [255, 0, 0, 255, 0, 0, 255, 128])
        let flat = Preprocess.flattened(image, background: [255, 255, 255])
        XCTAssertEqual(flat.bytes, [255, 0, 0, 127, 127, 255])  // Pillow: DIV255(255 * 127 + 0 * 128) = 127
        let turned = Preprocess.oriented(flat, exifOrientation: 6)  // 90 degrees clockwise: 1 wide, 2 tall
        XCTAssertEqual([turned.width, turned.height], [1, 2])
        XCTAssertEqual(turned.bytes, [255, 0, 0, 127, 127, 255])
        let mirrored = Preprocess.oriented(flat, exifOrientation: 2)
        XCTAssertEqual(mirrored.bytes, [127, 127, 255, 255, 0, 0])
    }
}

import Foundation
import XCTest
@testable import PocketClipCore

final class NpyTest: XCTestCase {
    func testReadsEveryGoldenArray() throws {
        let manifest = try TestInputs.manifest()
        let index = try TestInputs.goldenIndex(manifest)
        let size = manifest.preprocess.size, dim = manifest.model.embedDim
        let names = manifest.files.keys.filter { $0.hasPrefix("golden/") && $0.hasSuffix(".npy") }.sorted()
        XCTAssertFalse(names.isEmpty)
        var arrays: [String: NpyArray] = [:]
        for name in names {
            let array = try NpyArray.read(try manifest.verify(name))
            XCTAssertEqual(array.data.count, array.count * (NpyArray.itemSize[array.dtype] ?? 0), name)
            arrays[String(name.dropFirst("golden/".count))] = array
        }
        let n = index.images.count, t = index.texts.count
        XCTAssertEqual(arrays["pixels.npy"]?.shape, [n, 3, size, size])
        XCTAssertEqual(arrays["pixels.npy"]?.dtype, "<f4")
        XCTAssertEqual(arrays["ids.npy"]?.shape, [t, manifest.text.contextLength])
        XCTAssertEqual(arrays["ids.npy"]?.dtype, "<i8")
        XCTAssertEqual(arrays["image_embeddings.npy"]?.shape, [n, dim])
        XCTAssertEqual(arrays["text_embeddings.npy"]?.shape, [t, dim])
        let squares = try XCTUnwrap(arrays["gallery_squares.npy"])
        XCTAssertEqual(squares.dtype, "|u1")
        XCTAssertEqual(Array(squares.shape.dropFirst()), [size, size, 3])
        let g = squares.shape[0]
        let c = try XCTUnwrap(arrays["gallery_ids.npy"]).shape[0]
        XCTAssertEqual(arrays["gallery_image_embeddings.npy"]?.shape, [g, dim])
        XCTAssertEqual(arrays["gallery_text_embeddings.npy"]?.shape, [c, dim])
        if let texts = index.galleryTexts { XCTAssertEqual(texts.count, c) }
        if let codes = arrays["pq_codes.npy"], let pq = manifest.pq {
            XCTAssertEqual(codes.dtype, "|u1")
            XCTAssertEqual(codes.shape, [pq.codewords <= 16 ? (pq.subspaces + 1) / 2 : pq.subspaces, g])
        }
        for name in ["pq_top10.npy", "exact_top10.npy"] {
            guard let top = arrays[name] else { continue }
            XCTAssertEqual(top.dtype, "<i4", name)
            XCTAssertEqual(top.shape, [c, min(10, g)], name)
            XCTAssertTrue(try top.ints().allSatisfy { (0 ..< g).contains($0) }, name)
        }
        // The values are read right: the fp32 reference embeddings are unit vectors, the ids start with <sot>.
        for name in ["image_embeddings.npy", "text_embeddings.npy", "gallery_image_embeddings.npy"] {
            for row in try XCTUnwrap(arrays[name]).floatRows() {
                let norm = row.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
                XCTAssertEqual(norm, 1, accuracy: 1e-4, name)
            }
        }
        XCTAssertTrue(try XCTUnwrap(arrays["ids.npy"]).intRows().allSatisfy { $0.first == manifest.text.sotId })
        XCTAssertTrue(try squares.bytes().contains { $0 > 0 })
    }

    func testReadsVersion2HeadersAndFloat16() throws {
        // A v2 header (4-byte length) of a (2,) float32 array [1.5, -2].
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
        var padded = header
        while (12 + padded.utf8.count + 1) % 64 != 0 { padded += " " }
        padded += "\n"
        var file = Data([0x93] + Array("NUMPY".utf8) + [2, 0])
        let length = UInt32(padded.utf8.count)
        file += Data([UInt8(length & 0xff), UInt8(length >> 8 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 24)])
        file += Data(padded.utf8)
        for value in [Float(1.5), Float(-2)] {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { file += Data($0) }
        }
        let array = try NpyArray.parse(file)
        XCTAssertEqual(array.shape, [2])
        XCTAssertEqual(try array.floats(), [1.5, -2])

        // np.save of np.array([1.5, -2, 65504], dtype='<f2'): a v1 header, float16 values.
        var half = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        var header16 = "{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }"
        while (10 + header16.utf8.count + 1) % 64 != 0 { header16 += " " }
        header16 += "\n"
        half += Data([UInt8(header16.utf8.count), 0]) + Data(header16.utf8)
        half += Data([0x00, 0x3e, 0x00, 0xc0, 0xff, 0x7b])
        XCTAssertEqual(half.count, 134)
        XCTAssertEqual(try NpyArray.parse(half).floats(), [1.5, -2, 65504])
    }
}

import Foundation
import XCTest
@testable import PocketClipCore

final class SearchTest: XCTestCase {
    private struct Gallery {
        let manifest: Manifest
        let images: VectorMatrix  // (G, dim) fp32 reference image embeddings
        let captions: [[Float]]  // (C, dim) fp32 reference text embeddings
    }

    private func gallery(_ bundle: Manifest? = nil) throws -> Gallery {
        let manifest = try bundle ?? TestInputs.manifest()
        let images = try TestInputs.golden("gallery_image_embeddings.npy", manifest)
        return Gallery(manifest: manifest, images: VectorMatrix(dim: manifest.model.embedDim, values: try images.floats()),
                       captions: try TestInputs.golden("gallery_text_embeddings.npy", manifest).floatRows())
    }

    /// A golden file of the PQ contract, or a skip naming what to do when the bundle predates it.
    private func pqGolden(_ name: String, _ manifest: Manifest) throws -> NpyArray {
        guard let array = try TestInputs.optionalGolden(name, manifest) else {
            throw XCTSkip("the bundle has no golden/\(name): re-export it with product quantization")
        }
        return array
    }

    private func codebooks(_ manifest: Manifest) throws -> Codebooks {
        guard manifest.pq != nil else { throw XCTSkip("the bundle has no pq/codebooks.npy: re-export it") }
        return try Codebooks(manifest: manifest)
    }

    func testExactTop10MatchesGolden() throws {
        let g = try gallery()
        let expected = try pqGolden("exact_top10.npy", g.manifest).intRows()
        XCTAssertEqual(expected.count, g.captions.count)
        for (i, query) in g.captions.enumerated() {
            let hits = Search.exact(g.images, query: query, k: expected[i].count).map(\.index)
            XCTAssertEqual(hits, expected[i], "caption \(i)")
        }
    }

    /// Encoding the golden gallery gives golden/pq_codes.npy: the stored codes, column-major (codeBytes, G).
    private func checkCodes(_ g: Gallery, _ books: Codebooks) throws {
        let expected = try pqGolden("pq_codes.npy", g.manifest)
        XCTAssertEqual(expected.shape, [books.codeBytes, g.images.count])
        let golden = PQCodes(columnMajor: try expected.bytes(), codeBytes: books.codeBytes)
        for i in 0 ..< g.images.count {
            XCTAssertEqual(books.encode(Array(g.images.row(i))), golden.code(i), "code of gallery image \(i)")
        }
    }

    /// The look-up-table scan of the golden codes gives golden/pq_top10.npy, and its scores are the tables'
    /// entries summed in sub-space order.
    private func checkTop10(_ g: Gallery, _ books: Codebooks) throws {
        let codes = PQCodes(columnMajor: try pqGolden("pq_codes.npy", g.manifest).bytes(), codeBytes: books.codeBytes)
        let expected = try pqGolden("pq_top10.npy", g.manifest).intRows()
        XCTAssertEqual(expected.count, g.captions.count)
        for (i, query) in g.captions.enumerated() {
            let hits = ProductQuantization.search(books, codes: codes, query: query, k: expected[i].count).map(\.index)
            XCTAssertEqual(hits, expected[i], "caption \(i)")
            let tables = books.lookupTables(query)
            let adc = ProductQuantization.adcScores(tables: tables, codebooks: books, codes: codes)
            for n in 0 ..< codes.count {
                var sum: Float = 0
                for m in 0 ..< books.subspaces { sum += tables[m * books.codewords + codes.subCode(books, m, n)] }
                XCTAssertEqual(sum, adc[n], "caption \(i) photo \(n)")
            }
        }
    }

    /// The 4-bit bundle: really 16 codewords, two codes a byte.
    private func pq4() throws -> (Gallery, Codebooks) {
        let g = try gallery(try TestInputs.pq4Manifest())
        let books = try codebooks(g.manifest)
        XCTAssertEqual(books.codewords, 16)
        XCTAssertEqual(books.codeBytes, books.subspaces / 2)
        return (g, books)
    }

    func testPqCodesMatchGolden() throws {
        let g = try gallery()
        try checkCodes(g, try codebooks(g.manifest))
    }

    func testPqTop10MatchesGolden() throws {
        let g = try gallery()
        try checkTop10(g, try codebooks(g.manifest))
    }

    func testPq4CodesMatchGolden() throws {
        let (g, books) = try pq4()
        try checkCodes(g, books)
    }

    func testPq4Top10MatchesGolden() throws {
        let (g, books) = try pq4()
        try checkTop10(g, books)
    }

    func testRerankRecoversExact() throws {
        let g = try gallery()
        let books = try codebooks(g.manifest)
        let exact = try pqGolden("exact_top10.npy", g.manifest).intRows()
        // As on a phone: the store's float16 vectors, their codes, PQ for the candidates, exact re-rank.
        let stored = VectorMatrix(dim: g.images.dim, float16Blobs: (0 ..< g.images.count).map {
            Float16Codec.encode(Array(g.images.row($0)))
        })
        var codes = PQCodes(codeBytes: books.codeBytes)
        for i in 0 ..< stored.count { codes.append(books.encode(Array(stored.row(i)))) }
        let candidates = max(20, stored.count / 2)
        for (i, query) in g.captions.enumerated() {
            let hits = ProductQuantization.search(books, codes: codes, query: query, k: exact[i].count, vectors: stored,
                                                  candidates: candidates).map(\.index)
            // float16 storage may swap two photos whose scores differ by less than its rounding, nothing more
            let reference = g.images.scores(query)
            for (rank, (got, want)) in zip(hits, exact[i]).enumerated() {
                XCTAssertEqual(reference[got], reference[want], accuracy: 2e-3, "caption \(i) rank \(rank)")
            }
        }
    }

    func testTopKeepsLowerIndexOnTies() {
        XCTAssertEqual(Search.top([0.5, 0.9, 0.5, 0.9, 0.1], k: 3), [1, 3, 0])
        XCTAssertEqual(Search.top([Float](repeating: 1, count: 100), k: 70), Array(0 ..< 70))
        XCTAssertEqual(Search.top([], k: 3), [])
    }
}

import Foundation
import XCTest
@testable import PocketClipCore

final class SearchTest: XCTestCase {
    private struct Gallery {
        let manifest: Manifest
        let images: VectorMatrix  // (G, dim) fp32 reference image embeddings
        let captions: [[Float]]  // (C, dim) fp32 reference text embeddings
    }

    private func gallery() throws -> Gallery {
        let manifest = try TestInputs.manifest()
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

    func testPqCodesMatchGolden() throws {
        let g = try gallery()
        let books = try codebooks(g.manifest)
        let expected = try pqGolden("pq_codes.npy", g.manifest)
        XCTAssertEqual(expected.shape, [books.subspaces, g.images.count])
        let golden = PQCodes(columnMajor: try expected.bytes(), subspaces: books.subspaces)
        for i in 0 ..< g.images.count {
            XCTAssertEqual(books.encode(Array(g.images.row(i))), golden.code(i), "code of gallery image \(i)")
        }
    }

    func testPqTop10MatchesGolden() throws {
        let g = try gallery()
        let books = try codebooks(g.manifest)
        let codes = PQCodes(columnMajor: try pqGolden("pq_codes.npy", g.manifest).bytes(), subspaces: books.subspaces)
        let expected = try pqGolden("pq_top10.npy", g.manifest).intRows()
        for (i, query) in g.captions.enumerated() {
            let hits = ProductQuantization.search(books, codes: codes, query: query, k: expected[i].count).map(\.index)
            XCTAssertEqual(hits, expected[i], "caption \(i)")
        }
    }

    func testRerankRecoversExact() throws {
        let g = try gallery()
        let books = try codebooks(g.manifest)
        let exact = try pqGolden("exact_top10.npy", g.manifest).intRows()
        // As on a phone: the store's float16 vectors, their codes, PQ for the candidates, exact re-rank.
        let stored = VectorMatrix(dim: g.images.dim, float16Blobs: (0 ..< g.images.count).map {
            Float16Codec.encode(Array(g.images.row($0)))
        })
        var codes = PQCodes(subspaces: books.subspaces)
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

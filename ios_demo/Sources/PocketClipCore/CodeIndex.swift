// Search from codes, as a phone does it: photo ids and PQ codes in memory (24 bytes a photo for 16-byte codes),
// asymmetric distances over all of them, then the reference's candidate rule — the PQ top `candidates` (the
// manifest's search.rerank_candidates), re-ranked exactly on their float16 vectors read from the store, best first
// (runtime/search/pq_index.py PQIndex with numpy's scan; the Kotlin core's CodeIndex).
import Foundation

public struct CodeIndex {
    public let ids: [Int64]
    public let codes: PQCodes
    public let codebooks: Codebooks
    private let store: PhotoStore
    private let model: String

    public var count: Int { ids.count }

    /// The ids and codes of every searchable photo of `model`, streamed from the store (no vector is read).
    public init(store: PhotoStore, model: String, codebooks: Codebooks) throws {
        var ids: [Int64] = []
        var codes = PQCodes(codeBytes: codebooks.codeBytes)
        try store.codes(model: model, codeBytes: codebooks.codeBytes) { id, code in
            ids.append(id)
            codes.append(code)
        }
        self.ids = ids
        self.codes = codes
        self.codebooks = codebooks
        self.store = store
        self.model = model
    }

    /// The k best photos for a normalised query: PQ proposes `candidates`, exact dot products re-rank them.
    public func search(_ query: [Float], k: Int, candidates: Int) throws -> [(id: Int64, score: Float)] {
        guard count > 0 else { return [] }
        let approx = ProductQuantization.adcScores(tables: codebooks.lookupTables(query), codebooks: codebooks, codes: codes)
        let pool = Search.top(approx, k: max(k, candidates))
        let vectors = try store.vectors(model: model, ids: pool.map { ids[$0] })
        let exact = try pool.map { row -> Float in
            guard let vector = vectors[ids[row]] else { throw StoreError.other("photo \(ids[row]) lost its vector: index again") }
            var sum: Float = 0
            for (a, b) in zip(vector, query) { sum += a * b }
            return sum
        }
        return Search.top(exact, k: k).map { (ids[pool[$0]], exact[$0]) }
    }
}

// Search from codes, as a phone does it (docs/search: "phones keep only PQ codes and ids in memory and read from
// SQLite just the vectors they re-rank"): photo ids and column-major PQ codes in memory (24 bytes a photo for
// 16-byte codes), asymmetric distances over all of them, then the reference's candidate rule — the PQ top
// `candidates` (the manifest's search.rerank_candidates), re-ranked exactly on their float16 vectors read from the
// store, best first (runtime/search/pq_index.py PQIndex with numpy's scan).
package org.pocketclip.core

/** One hit: the photo's id in the store and its exact score. */
data class IdHit(val id: Long, val score: Float)

class CodeIndex private constructor(
    private val store: EmbeddingStore, private val model: String, val pq: ProductQuantizer,
    val ids: LongArray, private val codes: ByteArray,
) {
    val size: Int get() = ids.size

    companion object {
        /** The ids and codes of every searchable photo of `model`, streamed from the store (no vector is read). */
        fun load(store: EmbeddingStore, model: String, pq: ProductQuantizer): CodeIndex {
            val n = store.searchableCount(model)
            val ids = LongArray(n)
            val codes = ByteArray(n * pq.codeBytes) // column-major: one run of n bytes per code byte
            var i = 0
            store.codes(model, pq.codeBytes) { id, code ->
                if (i == n) throw StoreError("the store changed while its codes were read")
                ids[i] = id
                for (b in code.indices) codes[b * n + i] = code[b]
                i++
            }
            if (i != n) throw StoreError("the store changed while its codes were read ($i of $n)")
            return CodeIndex(store, model, pq, ids, codes)
        }
    }

    /** The k best photos for a normalised query: PQ proposes `candidates`, exact dot products re-rank them. */
    fun search(query: FloatArray, k: Int, candidates: Int): List<IdHit> {
        if (size == 0) return emptyList()
        val approx = pq.adcScores(pq.lookupTables(query), codes, size)
        val pool = Search.top(approx, maxOf(k, candidates))
        val vectors = store.vectorsOf(model, pool.map { ids[it] })
        val exact = FloatArray(pool.size) { j ->
            val vector = vectors[ids[pool[j]]] ?: throw StoreError("photo ${ids[pool[j]]} lost its vector: index again")
            Search.dot(vector, 0, query, vector.size)
        }
        return Search.top(exact, k).map { IdHit(ids[pool[it]], exact[it]) }
    }
}

// Product quantization (runtime/pq.py): M bytes a photo, asymmetric distances through (M, 256) look-up
// tables, then an exact re-rank of the best candidates on the float16 vectors.
package org.pocketclip.core

import java.io.File

class ProductQuantizer(val subspaces: Int, val codewords: Int, val subDim: Int, private val centroids: FloatArray) {
    val dim: Int get() = subspaces * subDim

    init {
        require(centroids.size == subspaces * codewords * subDim) { "codebooks hold ${centroids.size} floats" }
        require(codewords <= 256) { "codes are one byte: at most 256 codewords, got $codewords" }
    }

    /** One vector -> M code bytes: the nearest codeword (squared L2) per sub-space; ties to the lower index. */
    fun encode(vector: FloatArray): ByteArray {
        require(vector.size == dim) { "vector of ${vector.size}, codebooks of dim $dim" }
        val code = ByteArray(subspaces)
        for (m in 0 until subspaces) {
            var best = 0
            var bestDist = Double.MAX_VALUE
            for (k in 0 until codewords) {
                val base = (m * codewords + k) * subDim
                var dist = 0.0
                for (d in 0 until subDim) {
                    val diff = vector[m * subDim + d].toDouble() - centroids[base + d]
                    dist += diff * diff
                }
                if (dist < bestDist) { bestDist = dist; best = k }
            }
            code[m] = best.toByte()
        }
        return code
    }

    /** (M, K) float32 inner products of the query's sub-vectors with every codeword, row-major. */
    fun lookupTables(query: FloatArray): FloatArray {
        val tables = FloatArray(subspaces * codewords)
        for (m in 0 until subspaces) for (k in 0 until codewords) {
            val base = (m * codewords + k) * subDim
            var s = 0f
            for (d in 0 until subDim) s += query[m * subDim + d] * centroids[base + d]
            tables[m * codewords + k] = s
        }
        return tables
    }

    /** ADC scores of N codes stored column-major ((M, N): one contiguous run of N bytes per sub-space). */
    fun adcScores(tables: FloatArray, codes: ByteArray, n: Int): FloatArray {
        require(codes.size == subspaces * n) { "codes hold ${codes.size} bytes, expected $subspaces x $n" }
        val scores = FloatArray(n)
        for (m in 0 until subspaces) {
            val t = m * codewords
            val column = m * n
            for (i in 0 until n) scores[i] += tables[t + (codes[column + i].toInt() and 0xff)]
        }
        return scores
    }

    /** The k best of N coded vectors by PQ scores alone. */
    fun search(codes: ByteArray, n: Int, query: FloatArray, k: Int): List<Scored> {
        val approx = adcScores(lookupTables(query), codes, n)
        return Search.top(approx, k).map { Scored(it, approx[it]) }
    }

    /**
     * The k best of N coded vectors: the PQ top `candidates` (the manifest's search.rerank_candidates on a
     * phone) re-ranked exactly on the row-major (N, dim) float32 `vectors`.
     */
    fun search(codes: ByteArray, n: Int, query: FloatArray, k: Int, vectors: FloatArray, candidates: Int): List<Scored> {
        val approx = adcScores(lookupTables(query), codes, n)
        val pool = Search.top(approx, maxOf(k, candidates))
        val exact = FloatArray(pool.size) { Search.dot(vectors, pool[it] * dim, query, dim) }
        return Search.top(exact, k).map { Scored(pool[it], exact[it]) }
    }

    companion object {
        /** Column-major (M, N) codes from N row codes of M bytes (the store's per-photo blobs). */
        fun columnMajor(rowCodes: List<ByteArray>, subspaces: Int): ByteArray {
            val n = rowCodes.size
            val out = ByteArray(subspaces * n)
            rowCodes.forEachIndexed { i, code ->
                require(code.size == subspaces) { "code ${i} has ${code.size} bytes, expected $subspaces" }
                for (m in 0 until subspaces) out[m * n + i] = code[m]
            }
            return out
        }

        fun fromNpy(file: File): ProductQuantizer {
            val array = NpyArray.read(file)
            require(array.shape.size == 3) { "$file: codebooks are (M, K, dim/M), got ${array.shape.contentToString()}" }
            return ProductQuantizer(array.shape[0], array.shape[1], array.shape[2], array.floats())
        }

        /** The bundle's codebooks, checked against the manifest, or null when the bundle has none. */
        fun fromBundle(manifest: Manifest): ProductQuantizer? {
            val spec = manifest.pq ?: return null
            val file = manifest.verify(spec.file)
            if (BundleHashes.sha256(file) != spec.sha256) throw BundleHashMismatch("${spec.file}: sha256 differs from manifest.pq")
            val pq = fromNpy(file)
            require(pq.subspaces == spec.subspaces && pq.codewords == spec.codewords && pq.subDim == spec.subDim) {
                "${spec.file} is shaped (${pq.subspaces}, ${pq.codewords}, ${pq.subDim}), manifest.pq says " +
                    "(${spec.subspaces}, ${spec.codewords}, ${spec.subDim})"
            }
            return pq
        }
    }
}

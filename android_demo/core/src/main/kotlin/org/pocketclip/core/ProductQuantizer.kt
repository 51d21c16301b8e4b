// Product quantization (runtime/search/pq.py): a code per sub-space, asymmetric distances through (M, K) look-up
// tables, then an exact re-rank of the best candidates on the float16 vectors. A photo's stored code is one
// byte per sub-space (K up to 256), or for K <= 16 two 4-bit codes a byte, the even sub-space in the low
// nibble (M / 2 bytes: 32 sub-spaces x 16 codewords = 16 bytes, 16-entry tables).
package org.pocketclip.core

import java.io.File

class ProductQuantizer(val subspaces: Int, val codewords: Int, val subDim: Int, private val centroids: FloatArray) {
    val dim: Int get() = subspaces * subDim
    /** Two 4-bit codes a byte (K <= 16), else one byte per sub-space. */
    val nibbles: Boolean get() = codewords <= 16
    /** Bytes of one photo's code (embeddings.pq_code). */
    val codeBytes: Int get() = if (nibbles) (subspaces + 1) / 2 else subspaces

    init {
        require(centroids.size == subspaces * codewords * subDim) { "codebooks hold ${centroids.size} floats" }
        require(codewords <= 256) { "codes are one byte: at most 256 codewords, got $codewords" }
    }

    /** Sub-space m's code of photo i in column-major (codeBytes, N) codes. */
    fun subCode(codes: ByteArray, n: Int, m: Int, i: Int): Int =
        if (nibbles) (codes[(m / 2) * n + i].toInt() shr (4 * (m % 2))) and 0xf else codes[m * n + i].toInt() and 0xff

    /** One vector -> its stored code (codeBytes bytes): the nearest codeword (squared L2) per sub-space; ties to
     *  the lower index. */
    fun encode(vector: FloatArray): ByteArray {
        require(vector.size == dim) { "vector of ${vector.size}, codebooks of dim $dim" }
        val code = ByteArray(codeBytes)
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
            if (nibbles) code[m / 2] = (code[m / 2].toInt() or (best shl (4 * (m % 2)))).toByte() else code[m] = best.toByte()
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

    /**
     * ADC scores of N codes stored column-major ((codeBytes, N): one contiguous run of N bytes per stored byte),
     * summed in sub-space order in float32 like runtime/search/pq.py adc_scores.
     */
    fun adcScores(tables: FloatArray, codes: ByteArray, n: Int): FloatArray {
        require(codes.size == codeBytes * n) { "codes hold ${codes.size} bytes, expected $codeBytes x $n" }
        val scores = FloatArray(n)
        for (m in 0 until subspaces) {
            val t = m * codewords
            if (nibbles) { // 16-entry tables: the nibble of this sub-space
                val column = (m / 2) * n
                val shift = 4 * (m % 2)
                for (i in 0 until n) scores[i] += tables[t + ((codes[column + i].toInt() shr shift) and 0xf)]
            } else {
                val column = m * n
                for (i in 0 until n) scores[i] += tables[t + (codes[column + i].toInt() and 0xff)]
            }
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
        /** Column-major (B, N) codes from N stored codes of B bytes each (the store's per-photo blobs). */
        fun columnMajor(rowCodes: List<ByteArray>, codeBytes: Int): ByteArray {
            val n = rowCodes.size
            val out = ByteArray(codeBytes * n)
            rowCodes.forEachIndexed { i, code ->
                require(code.size == codeBytes) { "code ${i} has ${code.size} bytes, expected $codeBytes" }
                for (b in 0 until codeBytes) out[b * n + i] = code[b]
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

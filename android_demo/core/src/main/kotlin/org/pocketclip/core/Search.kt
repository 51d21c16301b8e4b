// Exact search: float32 dot products over the (N, dim) matrix of normalised vectors, top-k best first.
package org.pocketclip.core

import kotlin.math.sqrt

data class Scored(val index: Int, val score: Float)

object Search {
    /** Indices of the k largest scores, best first; ties: the lower index first. */
    fun top(scores: FloatArray, k: Int): IntArray {
        val n = minOf(k, scores.size)
        if (n <= 0) return IntArray(0)
        // A bounded heap keeps this O(N log k); the final sort gives the contract's order.
        val worstFirst = java.util.PriorityQueue<Int>(n + 1) { a, b -> compareBest(b, a, scores) }
        for (i in scores.indices) {
            worstFirst.add(i)
            if (worstFirst.size > n) worstFirst.poll()
        }
        return worstFirst.toMutableList().sortedWith { a, b -> compareBest(a, b, scores) }.toIntArray()
    }

    /** Negative when `a` ranks before `b`: higher score, then lower index. NaN ranks last. */
    private fun compareBest(a: Int, b: Int, scores: FloatArray): Int {
        val sa = scores[a].let { if (it.isNaN()) Float.NEGATIVE_INFINITY else it }
        val sb = scores[b].let { if (it.isNaN()) Float.NEGATIVE_INFINITY else it }
        return if (sa != sb) sb.compareTo(sa) else a.compareTo(b)
    }

    fun dot(a: FloatArray, aOffset: Int, b: FloatArray, dim: Int): Float {
        var s = 0f
        for (d in 0 until dim) s += a[aOffset + d] * b[d]
        return s
    }

    /** Scores of every row of a row-major (N, dim) matrix against `query`. */
    fun scores(matrix: FloatArray, dim: Int, query: FloatArray): FloatArray {
        require(query.size == dim && matrix.size % dim == 0) { "query of ${query.size}, matrix rows of $dim" }
        return FloatArray(matrix.size / dim) { dot(matrix, it * dim, query, dim) }
    }

    fun normalised(v: FloatArray): FloatArray {
        var s = 0.0
        for (x in v) s += x.toDouble() * x
        val norm = sqrt(s).toFloat()
        return FloatArray(v.size) { v[it] / norm }
    }

    /** Cosine top-k: the query is normalised; the rows are stored normalised (the store's contract). */
    fun cosineTopK(matrix: FloatArray, dim: Int, query: FloatArray, k: Int): List<Scored> {
        val scores = scores(matrix, dim, normalised(query))
        return top(scores, k).map { Scored(it, scores[it]) }
    }
}

package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test

class SearchTest {
    private val golden get() = TestInputs.golden
    private val dim get() = TestInputs.manifest.embedDim
    private val images by lazy { golden.array("gallery_image_embeddings.npy") }
    private val captions by lazy { golden.array("gallery_text_embeddings.npy").floatRows() }

    private fun bundlePq(manifest: Manifest = TestInputs.manifest, golden: Golden = this.golden): ProductQuantizer {
        assumeTrue(manifest.pq != null && golden.has("pq_codes.npy"),
            "the bundle has no pq/codebooks.npy and golden pq files (exported without codebooks)")
        return ProductQuantizer.fromBundle(manifest)!!
    }

    /** The 4-bit bundle's codebooks: really 16 codewords, two codes a byte. */
    private fun pq4(): ProductQuantizer {
        val pq = bundlePq(TestInputs.pq4Manifest, TestInputs.pq4Golden)
        assertEquals(16, pq.codewords)
        assertEquals(pq.subspaces / 2, pq.codeBytes)
        return pq
    }

    private fun rows(name: String, golden: Golden = this.golden): List<IntArray> {
        val a = golden.array(name)
        val all = a.ints()
        return (0 until a.shape[0]).map { all.copyOfRange(it * a.shape[1], (it + 1) * a.shape[1]) }
    }

    @Test
    fun exactTop10MatchesGolden() {
        assumeTrue(golden.has("exact_top10.npy"), "the bundle has no golden/exact_top10.npy")
        val expected = rows("exact_top10.npy")
        assertEquals(captions.size, expected.size)
        val matrix = images.floats()
        captions.forEachIndexed { c, q ->
            assertArrayEquals(expected[c], Search.top(Search.scores(matrix, dim, q), 10), "caption $c")
            assertArrayEquals(expected[c], Search.cosineTopK(matrix, dim, q, 10).map { it.index }.toIntArray())
        }
    }

    /** Encoding the golden gallery gives golden/pq_codes.npy: the stored codes, column-major (codeBytes, G). */
    private fun checkCodes(pq: ProductQuantizer, golden: Golden) {
        val images = golden.array("gallery_image_embeddings.npy")
        val expected = golden.array("pq_codes.npy")
        assertEquals(listOf(pq.codeBytes, images.shape[0]), expected.shape.toList())
        val codes = ProductQuantizer.columnMajor(images.floatRows().map { pq.encode(it) }, pq.codeBytes)
        assertArrayEquals(expected.bytes(), codes)
    }

    /** The look-up-table scan of the golden codes gives golden/pq_top10.npy for every caption. */
    private fun checkTop10(pq: ProductQuantizer, golden: Golden) {
        val codes = golden.array("pq_codes.npy").bytes()
        val n = golden.array("gallery_image_embeddings.npy").shape[0]
        val expected = rows("pq_top10.npy", golden)
        val captions = golden.array("gallery_text_embeddings.npy").floatRows()
        assertEquals(captions.size, expected.size)
        captions.forEachIndexed { c, q ->
            assertArrayEquals(expected[c], pq.search(codes, n, q, 10).map { it.index }.toIntArray(), "caption $c")
            // the scan agrees with decoding the codes and taking exact dot products on the reconstruction
            val tables = pq.lookupTables(q)
            val adc = pq.adcScores(tables, codes, n)
            for (i in 0 until n) {
                var s = 0f
                for (m in 0 until pq.subspaces) s += tables[m * pq.codewords + pq.subCode(codes, n, m, i)]
                assertEquals(s, adc[i])
            }
        }
    }

    @Test
    fun pqCodesMatchGolden() = checkCodes(bundlePq(), golden)

    @Test
    fun pqTop10MatchesGolden() = checkTop10(bundlePq(), golden)

    @Test
    fun pq4CodesMatchGolden() = checkCodes(pq4(), TestInputs.pq4Golden)

    @Test
    fun pq4Top10MatchesGolden() = checkTop10(pq4(), TestInputs.pq4Golden)

    @Test
    fun rerankRecoversExact() {
        // The store keeps float16 vectors: codes and the re-rank both work on those, as runtime/search/pq_index.py.
        val stored = images.floatRows().map { Float16.decode(Float16.encode(it)) }
        val matrix = FloatArray(stored.size * dim).also { m -> stored.forEachIndexed { i, v -> v.copyInto(m, i * dim) } }
        // Without bundle codebooks: a deliberately coarse quantizer (4 codewords from 4 gallery rows per sub-space).
        val pq = TestInputs.manifest.pq?.let { ProductQuantizer.fromBundle(TestInputs.manifest) } ?: run {
            val m = 8
            val sub = dim / m
            val centroids = FloatArray(m * 4 * sub)
            for (s in 0 until m) for (k in 0 until 4) stored[k].copyInto(centroids, (s * 4 + k) * sub, s * sub, (s + 1) * sub)
            ProductQuantizer(m, 4, sub, centroids)
        }
        val codes = ProductQuantizer.columnMajor(stored.map { pq.encode(it) }, pq.codeBytes)
        val n = stored.size
        var pqAlone = 0
        captions.forEach { q ->
            val exact = Search.top(Search.scores(matrix, dim, q), 10)
            val reranked = pq.search(codes, n, q, 10, matrix, candidates = n)
            assertArrayEquals(exact, reranked.map { it.index }.toIntArray()) // every candidate re-ranked: exact
            for (hit in reranked) assertEquals(Search.dot(matrix, hit.index * dim, q, dim), hit.score)
            val few = pq.search(codes, n, q, 5, matrix, candidates = 10)
            val proposed = pq.search(codes, n, q, 10).map { it.index }.toSet()
            assertTrue(few.all { it.index in proposed }, "re-rank only reorders the PQ candidates")
            assertEquals(few.sortedByDescending { it.score }, few)
            pqAlone += pq.search(codes, n, q, 10).map { it.index }.toSet().intersect(exact.toSet()).size
        }
        println("search: PQ alone recall@10 ${pqAlone / (10.0 * captions.size)} (${pq.subspaces} x ${pq.codewords}); " +
            "with every candidate re-ranked 1.0")
    }

    @Test
    fun topKeepsLowerIndexOnTies() {
        assertArrayEquals(intArrayOf(1, 3, 0), Search.top(floatArrayOf(0.5f, 0.9f, 0.5f, 0.9f, 0.1f), 3))
        assertArrayEquals(IntArray(70) { it }, Search.top(FloatArray(100) { 1f }, 70))
        assertArrayEquals(IntArray(0), Search.top(FloatArray(0), 3))
    }
}

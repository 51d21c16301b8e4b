// `jvm-test.sh --bench-search STORE CODEBOOKS.npy MODEL QUERIES.npy TRUTH.npy CANDIDATES`: the phone's search from
// codes (CodeIndex) on a store the Python benchmark wrote (benchmarks/phone_search.py): the index's resident heap,
// its load time, query time and recall@10 against the exact top 10 (photo ids) the benchmark computed. One JSON line.
package org.pocketclip.core

import com.google.gson.JsonObject
import java.io.File

object CodeIndexBench {
    private fun usedHeap(): Long {
        val runtime = Runtime.getRuntime()
        repeat(3) { System.gc(); Thread.sleep(50) }
        return runtime.totalMemory() - runtime.freeMemory()
    }

    @JvmStatic
    fun main(args: Array<String>) {
        val (storeFile, codebooksFile, model, queriesFile, truthFile) = args.take(5)
        val candidates = args[5].toInt()
        val pq = ProductQuantizer.fromNpy(File(codebooksFile))
        val queries = NpyArray.read(File(queriesFile)).floatRows()
        val truth = NpyArray.read(File(truthFile)).let { a -> a.longs().toList().chunked(a.shape[1]) }
        JdbcDriver(File(storeFile)).use { db ->
            val store = EmbeddingStore.open(db)
            val before = usedHeap()
            val start = System.nanoTime()
            val index = CodeIndex.load(store, model, pq)
            val loadMs = (System.nanoTime() - start) / 1e6
            val heap = usedHeap() - before
            repeat(5) { index.search(queries[it % queries.size], 10, candidates) } // JIT warm-up
            val times = ArrayList<Double>()
            var found = 0
            queries.forEachIndexed { q, query ->
                val t = System.nanoTime()
                val hits = index.search(query, 10, candidates)
                times.add((System.nanoTime() - t) / 1e6)
                found += hits.count { it.id in truth[q] }
            }
            times.sort()
            println(JsonObject().apply {
                addProperty("photos", index.size); addProperty("code_bytes", pq.codeBytes)
                addProperty("index_heap_bytes", heap); addProperty("load_ms", Math.round(loadMs))
                addProperty("p50_ms", times[times.size / 2]); addProperty("p95_ms", times[(times.size * 95) / 100])
                addProperty("recall_at_10", found.toDouble() / (10 * queries.size))
                addProperty("candidates", candidates); addProperty("queries", queries.size)
                addProperty("jvm", System.getProperty("java.version"))
            })
            index.hashCode() // the index stays reachable until its heap was measured and searched
        }
    }
}

// Incremental, resumable indexing by the rules of docs/conformance.md, as runtime/indexing/indexer.py: the
// same scenario files drive both. The app gives a PhotoSource and a PhotoEmbedder; binding, meta, batches,
// codes, error kinds, tombstones, restores, the deletion guards, the purge, the quarantine and the facts are here.
package org.pocketclip.core

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.time.OffsetDateTime

data class SyncReport(
    var embedded: Int = 0, var unchanged: Int = 0, var moved: Int = 0, var touched: Int = 0,
    var errors: Int = 0, var deleted: Int = 0, var skippedErrors: Int = 0, var restored: Int = 0,
    var withheld: Int = 0, var purged: Int = 0,
    /** Unchanged photos whose facts a migrated store lacked, read and written without embedding (R22). */
    var factsFilled: Int = 0,
)

/** The library cannot be indexed now (gone, unreadable, emptied) while the store holds its photos (R12). */
class RootUnavailable(message: String) : StoreError(message)

data class IndexOptions(
    val batchSize: Int = 16, val allowEmpty: Boolean = false, val retryErrors: Boolean = false,
)

class LibraryIndexer(
    private val store: EmbeddingStore, private val model: String, private val pq: ProductQuantizer?,
    private val clock: () -> String = EmbeddingStore::now,
) {
    companion object {
        const val MAX_DELETED_SHARE = 0.5 // R13: at most this share of the library marked deleted in one run ...
        const val DELETION_GUARD_FROM = 4 // ... once it holds this many 'ok' photos
        const val TOMBSTONE_DAYS = 30L // R19
        const val QUARANTINE_STRIKES = 2 // R20
        const val CRASHED = "the photo crashed the decoder"
    }

    private class Job(val photo: PhotoStat, val digest: String?, val rowId: Long?, val error: String? = null)

    fun run(source: PhotoSource, embedder: PhotoEmbedder, options: IndexOptions = IndexOptions(),
            progress: (Int, Int) -> Unit = { _, _ -> }, log: (String) -> Unit = {}): SyncReport {
        require(options.batchSize >= 1) { "batch size must be at least 1" }
        val report = SyncReport()
        val files = source.list()
        val rows = store.photos()
        checkRoot(source, files, rows, options.allowEmpty)
        val withVector = store.idsWithVector(model)
        val present = files.map { it.path }.toSet()
        val vanished = rows.values.filter { it.path !in present }
        val reusable = reusable(vanished, withVector)
        val suspects = decoding()
        val todo = ArrayList<Job>()
        val reused = HashSet<Long>()
        for (photo in files) {
            val row = rows[photo.path]
            val sameStat = row != null && row.size == photo.size && row.mtimeNs == photo.mtimeNs
            if (sameStat && row!!.status == StoreSchema.Status.ERROR && !options.retryErrors &&
                !(row.error ?: "").startsWith(PhotoUnavailable.UNAVAILABLE)) { report.skippedErrors++; continue }
            // R22: an indexed photo whose facts were never read (a store migrated from schema version 1) is read
            val needsFacts = row != null && row.status == StoreSchema.Status.OK && row.id in withVector &&
                row.facts.takenSource == null
            if (sameStat && row!!.status == StoreSchema.Status.OK && row.id in withVector && !needsFacts) {
                report.unchanged++
                continue
            }
            val digest = try {
                source.contentHash(photo)
            } catch (e: PhotoFailure) {
                if (row != null && row.status == StoreSchema.Status.OK && row.id in withVector) {
                    report.errors++ // R11: an indexed photo keeps its row and vector while it cannot be read
                    log("skipping ${photo.path}: ${e.message}")
                } else {
                    todo.add(Job(photo, null, row?.id, e.message ?: "cannot be read"))
                }
                continue
            }
            if (row != null && row.contentHash == digest && row.id in withVector) {
                val back = row.status == StoreSchema.Status.DELETED
                val facts = if (needsFacts) facts(source, photo, log) else null // R21: otherwise kept
                store.updatePhoto(row.id, photo.path, photo.size, photo.mtimeNs, if (back) clock() else null, facts)
                when {
                    back -> report.restored++
                    facts != null && sameStat -> report.factsFilled++
                    else -> report.touched++
                }
            } else if (row == null && reusable.containsKey(digest)) {
                val found = reusable.remove(digest)!!
                reused.add(found.id)
                val back = found.status == StoreSchema.Status.DELETED
                store.updatePhoto(found.id, photo.path, photo.size, photo.mtimeNs, if (back) clock() else null)
                if (back) report.restored++ else report.moved++
            } else {
                val strikes = suspects[photo.path] ?: 0
                todo.add(Job(photo, digest, row?.id, if (strikes >= QUARANTINE_STRIKES) CRASHED else null))
            }
        }
        // R20: photos recorded when a run died are decoded first, one at a time.
        val alone = todo.filter { it.error == null && it.photo.path in suspects }
        val rest = todo.filter { !(it.error == null && it.photo.path in suspects) }
        var done = 0
        progress(done, todo.size)
        for (batch in alone.map { listOf(it) } + rest.chunked(options.batchSize)) {
            record(batch, suspects)
            write(batch, source, embedder, report, log)
            done += batch.size
            progress(done, todo.size)
        }
        if (StoreSchema.Meta.DECODING in store.meta()) store.recordDecoding(null) // every batch was written
        val gone = vanished.filter { it.status != StoreSchema.Status.DELETED && it.id !in reused }
        markDeleted(gone, rows, source.partial, options.allowEmpty, report)
        report.purged = store.purgeTombstones(EmbeddingStore.format(OffsetDateTime.parse(clock()).minusDays(TOMBSTONE_DAYS)))
        return report
    }

    /** The photo's facts from the source, or null when it cannot give them now (the row then waits for them). */
    private fun facts(source: PhotoSource, photo: PhotoStat, log: (String) -> Unit): PhotoFacts? = try {
        source.facts(photo)
    } catch (e: PhotoFailure) {
        log("no facts for ${photo.path}: ${e.message}")
        null
    }

    /** Rows a new path may take over by content hash (R5, R7): vanished 'ok' rows before tombstones, lowest id first. */
    private fun reusable(vanished: List<PhotoRow>, withVector: Set<Long>): MutableMap<String, PhotoRow> {
        val found = LinkedHashMap<String, PhotoRow>()
        for (row in vanished.sortedWith(compareBy({ it.status != StoreSchema.Status.OK }, { it.id }))) {
            if ((row.status == StoreSchema.Status.OK || row.status == StoreSchema.Status.DELETED) &&
                !row.contentHash.isNullOrEmpty() && row.id in withVector) found.putIfAbsent(row.contentHash, row)
        }
        return found
    }

    /** Meta `decoding`: the photos of batches being decoded when a run died, with their strikes. */
    private fun decoding(): Map<String, Int> = try {
        val text = store.meta()[StoreSchema.Meta.DECODING] ?: return emptyMap()
        JsonParser.parseString(text).asJsonObject.entrySet().associate { it.key to it.value.asInt }
    } catch (e: RuntimeException) {
        emptyMap()
    }

    private fun encodeDecoding(marked: Map<String, Int>): String? = if (marked.isEmpty()) null else
        PythonJson.dumpsSorted(JsonObject().also { o -> marked.forEach { (k, v) -> o.addProperty(k, v) } })

    private fun record(batch: List<Job>, suspects: Map<String, Int>) {
        val marked = decoding().toMutableMap()
        for (job in batch) if (job.error == null) marked[job.photo.path] = (suspects[job.photo.path] ?: 0) + 1
        if (marked.isNotEmpty()) store.recordDecoding(encodeDecoding(marked))
    }

    private fun checkRoot(source: PhotoSource, files: List<PhotoStat>, rows: Map<String, PhotoRow>, allowEmpty: Boolean) {
        if (allowEmpty) return
        val ok = rows.values.count { it.status == StoreSchema.Status.OK }
        val problem = source.rootProblem(files) ?: return
        if (problem.startsWith("holds no photo") && ok == 0) return
        if (ok > 0) throw RootUnavailable("${source.root} $problem, and the store holds $ok photos from it; nothing " +
            "was changed (allow it to mark them deleted: their vectors are kept)")
        throw RootUnavailable("${source.root} $problem")
    }

    private fun write(batch: List<Job>, source: PhotoSource, embedder: PhotoEmbedder, report: SyncReport,
                      log: (String) -> Unit) {
        val decoded = batch.map { job ->
            if (job.error != null) job to job.error else try {
                job to source.decode(job.photo)
            } catch (e: PhotoFailure) {
                job to (e.message ?: "cannot decode")
            } catch (e: OutOfMemoryError) { // one photo's failure, never the run's
                job to "cannot decode: out of memory"
            }
        }
        val ok = decoded.filter { it.second is DecodedPhoto }
        val vectors = if (ok.isEmpty()) emptyList() else
            embedder.embed(ok.map { it.first.photo.path to it.first.digest!! }, ok.map { it.second as DecodedPhoto })
        val byPath = ok.map { it.first.photo.path }.zip(vectors).toMap()
        val stamp = clock()
        val records = decoded.map { (job, result) ->
            val photo = job.photo
            if (result is DecodedPhoto) {
                val vector = byPath.getValue(photo.path)
                report.embedded++
                PhotoRecord(photo.path, photo.size, photo.mtimeNs, job.digest, result.width, result.height, vector = vector,
                    pqCode = pq?.encode(Float16.decode(Float16.encode(vector))), rowId = job.rowId, indexedAt = stamp,
                    facts = result.facts ?: facts(source, photo, log) ?: PhotoFacts.NONE)
            } else {
                report.errors++
                log("skipping ${photo.path}: $result")
                PhotoRecord(photo.path, photo.size, photo.mtimeNs, job.digest, null, null, error = result as String,
                    rowId = job.rowId, indexedAt = stamp)
            }
        }
        val left = decoding().filterKeys { path -> batch.none { it.photo.path == path } }
        store.writeBatch(model, records, encodeDecoding(left))
    }

    /** R6, with the guards of R13 (most of the library) and R14 (partial access). */
    private fun markDeleted(gone: List<PhotoRow>, rows: Map<String, PhotoRow>, partial: Boolean, allowEmpty: Boolean,
                            report: SyncReport) {
        val ok = rows.values.count { it.status == StoreSchema.Status.OK }
        val tooMany = ok >= DELETION_GUARD_FROM && gone.size > MAX_DELETED_SHARE * ok
        if (gone.isNotEmpty() && !allowEmpty && (partial || tooMany)) {
            report.withheld = gone.size
            return
        }
        store.markDeleted(gone.map { it.id }, clock())
        report.deleted += gone.size
    }
}

// Incremental, resumable indexing (runtime/indexing/indexer.py, rclip's sync): unchanged photos skipped by
// size+mtime, a touched photo keeps its vector when its content hash is the same, a new path whose
// hash matches a vanished photo is a move; the rest is embedded one transaction per batch; photos
// gone from the library are marked 'deleted' at the end.
package org.pocketclip.core

/** A photo as the library lists it (MediaStore on Android, a folder walk elsewhere). */
data class PhotoStat(val path: String, val size: Long, val mtimeNs: Long)

data class SyncReport(
    var embedded: Int = 0, var unchanged: Int = 0, var moved: Int = 0, var touched: Int = 0,
    var errors: Int = 0, var deleted: Int = 0, var skippedErrors: Int = 0,
)

class IndexSync(private val store: EmbeddingStore, private val model: String) {
    /**
     * Bring the store up to date with `photos`. `hash` gives a photo's content hash (null: unreadable);
     * `embed` decodes and embeds one batch, returning a record per photo (with `error` for failures).
     */
    fun run(photos: List<PhotoStat>, hash: (PhotoStat) -> String?, batchSize: Int = 16,
            embed: (List<Pair<PhotoStat, String>>) -> List<PhotoRecord>): SyncReport {
        val report = SyncReport()
        val rows = store.photos()
        val withVector = store.idsWithVector(model)
        val present = photos.map { it.path }.toSet()
        val vanished = rows.values.filter { it.path !in present && it.status == StoreSchema.Status.OK && it.id in withVector }
            .filter { it.contentHash != null }.associateBy { it.contentHash!! }.toMutableMap()
        val moved = HashSet<Long>()
        val todo = ArrayList<Pair<PhotoStat, String>>()
        for (photo in photos) {
            val row = rows[photo.path]
            val sameStat = row != null && row.size == photo.size && row.mtimeNs == photo.mtimeNs
            if (sameStat && row.status == StoreSchema.Status.ERROR) { report.skippedErrors++; continue }
            if (sameStat && row.status == StoreSchema.Status.OK && row.id in withVector) { report.unchanged++; continue }
            val digest = hash(photo)
            if (digest == null) { todo.add(photo to ""); continue } // unreadable: decoding records the reason
            val gone = vanished[digest]
            if (row != null && row.contentHash == digest && row.id in withVector) {
                store.touch(row.id, photo.size, photo.mtimeNs); report.touched++
            } else if (row == null && gone != null) {
                vanished.remove(digest); moved.add(gone.id)
                store.move(gone.id, photo.path, photo.size, photo.mtimeNs); report.moved++
            } else {
                todo.add(photo to digest)
            }
        }
        for (batch in todo.chunked(batchSize)) {
            val records = embed(batch)
            store.writeBatch(model, records)
            report.errors += records.count { it.error != null }
            report.embedded += records.count { it.error == null && it.vector != null }
        }
        val gone = rows.values.filter { it.path !in present && it.status != StoreSchema.Status.DELETED && it.id !in moved }
        store.markDeleted(gone.map { it.id })
        report.deleted = gone.size
        return report
    }
}

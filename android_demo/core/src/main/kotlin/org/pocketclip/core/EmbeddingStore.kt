// Writing and reading the store (runtime/store/store.py's contract): photos by path, one float16 vector per
// (photo, model fingerprint), optional PQ code; one transaction per batch, so a killed run resumes
// with nothing duplicated and nothing half-written.
package org.pocketclip.core

import java.time.OffsetDateTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.time.temporal.ChronoUnit

open class StoreError(message: String) : Exception(message)

/** The store was written by a newer pocketclip; this code does not know its schema. */
class StoreTooNew(message: String) : StoreError(message)

/** The store holds vectors of another model; re-index rather than mix two models. */
class ModelMismatch(message: String) : StoreError(message)

data class PhotoRow(
    val id: Long, val path: String, val size: Long?, val mtimeNs: Long?, val contentHash: String?,
    val width: Int?, val height: Int?, val status: String, val error: String?, val indexedAt: String?,
)

/** What an indexing batch writes for one photo: its row, and its vector unless decoding failed. */
data class PhotoRecord(
    val path: String, val size: Long, val mtimeNs: Long, val contentHash: String, val width: Int?, val height: Int?,
    val error: String? = null, val vector: FloatArray? = null, val pqCode: ByteArray? = null,
)

/** The store's vectors of one model, in memory as one row-major float32 matrix (N, dim). */
class StoredVectors(val ids: LongArray, val paths: List<String>, val dim: Int, val matrix: FloatArray,
                    val pqCodes: List<ByteArray?>) {
    val size: Int get() = paths.size
    fun row(i: Int): FloatArray = matrix.copyOfRange(i * dim, (i + 1) * dim)
}

class EmbeddingStore private constructor(val db: SqlDriver) {
    companion object {
        private val SECONDS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx")
        private val MICROS = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSxxx")

        /** runtime/store/blobs.py now(): UTC, seconds, "+00:00". */
        fun now(): String = OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS).format(SECONDS)

        /** Open (creating if empty) a store; refuses one newer than this code. */
        fun open(db: SqlDriver): EmbeddingStore {
            val store = EmbeddingStore(db)
            if (store.tableExists("meta")) {
                val version = store.meta()[StoreSchema.Meta.SCHEMA_VERSION]?.toIntOrNull() ?: 0
                if (version > StoreSchema.SCHEMA_VERSION) {
                    throw StoreTooNew("schema version $version; this code reads up to ${StoreSchema.SCHEMA_VERSION}")
                }
            }
            db.query("PRAGMA journal_mode=WAL")
            store.migrate()
            return store
        }
    }

    fun tableExists(name: String): Boolean =
        db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", listOf(name)).isNotEmpty()

    private fun migrate() {
        db.transaction {
            if (!tableExists("_sqlite_migrations")) StoreSchema.MIGRATIONS_DDL.forEach { db.execute(it) }
            val applied = db.query("SELECT name FROM _sqlite_migrations WHERE migration_set = ?",
                listOf(StoreSchema.MIGRATION_SET)).map { it[0] as String }.toSet()
            if ("m001_initial" !in applied) {
                StoreSchema.DDL.forEach { db.execute(it) }
                putMeta(StoreSchema.Meta.SCHEMA_VERSION, StoreSchema.SCHEMA_VERSION.toString())
                db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
                    listOf(StoreSchema.MIGRATION_SET, "m001_initial", OffsetDateTime.now(ZoneOffset.UTC).format(MICROS)))
            }
        }
    }

    fun meta(): Map<String, String> =
        db.query("SELECT key, value FROM meta").associate { it[0] as String to (it[1] as String? ?: "") }

    fun putMeta(key: String, value: String) =
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", listOf(key, value))

    /** Meta `generation` + 1, inside the transaction of a write to photos or embeddings (runtime/store/store.py). */
    private fun bumpGeneration() {
        db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, '0')", listOf(StoreSchema.Meta.GENERATION))
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = ?", listOf(StoreSchema.Meta.GENERATION))
    }

    /** Record the store's model, or refuse a different one (with `reindex`, drop the old vectors). */
    fun bindModel(fingerprint: String, dim: Int, preprocessSha256: String, reindex: Boolean = false) {
        val old = meta()[StoreSchema.Meta.MODEL_FINGERPRINT]
        db.transaction {
            if (old != null && old != fingerprint) {
                if (!reindex) throw ModelMismatch("the store holds vectors of model ${old.take(12)}, the bundle is model " +
                    "${fingerprint.take(12)}; re-index to re-embed every photo")
                db.execute("DELETE FROM embeddings WHERE model != ?", listOf(fingerprint))
                bumpGeneration()
            }
            putMeta(StoreSchema.Meta.MODEL_FINGERPRINT, fingerprint)
            putMeta(StoreSchema.Meta.DIM, dim.toString())
            putMeta(StoreSchema.Meta.PREPROCESS_SHA256, preprocessSha256)
        }
    }

    fun bindBundle(manifest: Manifest, reindex: Boolean = false) =
        bindModel(manifest.fingerprint, manifest.embedDim, manifest.preprocessSha256, reindex)

    /** Codes are only comparable under the codebooks that made them: new codebooks drop the old codes. */
    fun bindCodebooks(sha256: String) {
        db.transaction {
            if (meta()[StoreSchema.Meta.PQ_CODEBOOKS_SHA256] != sha256) {
                db.execute("UPDATE embeddings SET pq_code = NULL")
                bumpGeneration()
            }
            putMeta(StoreSchema.Meta.PQ_CODEBOOKS_SHA256, sha256)
        }
    }

    fun photos(): Map<String, PhotoRow> = db.query(
        "SELECT id, path, size, mtime_ns, content_hash, width, height, status, error, indexed_at FROM photos ORDER BY id",
    ).associate { r ->
        r[1] as String to PhotoRow((r[0] as Number).toLong(), r[1] as String, (r[2] as Number?)?.toLong(),
            (r[3] as Number?)?.toLong(), r[4] as String?, (r[5] as Number?)?.toInt(), (r[6] as Number?)?.toInt(),
            r[7] as String, r[8] as String?, r[9] as String?)
    }

    fun idsWithVector(model: String): Set<Long> =
        db.query("SELECT photo_id FROM embeddings WHERE model = ?", listOf(model)).map { (it[0] as Number).toLong() }.toSet()

    /** One batch in one transaction: photo rows upserted by path, vectors (float16) and codes replaced. */
    fun writeBatch(model: String, batch: List<PhotoRecord>) {
        val stamp = now()
        db.transaction {
            for (r in batch) {
                val status = if (r.error != null) StoreSchema.Status.ERROR else StoreSchema.Status.OK
                val values = listOf(r.size, r.mtimeNs, r.contentHash, r.width, r.height, status, r.error, stamp)
                val existing = db.query("SELECT id FROM photos WHERE path = ?", listOf(r.path)).firstOrNull()
                val id = if (existing != null) {
                    val id = (existing[0] as Number).toLong()
                    db.execute("UPDATE photos SET size = ?, mtime_ns = ?, content_hash = ?, width = ?, height = ?, " +
                        "status = ?, error = ?, indexed_at = ? WHERE id = ?", values + id)
                    id
                } else {
                    db.execute("INSERT INTO photos (path, size, mtime_ns, content_hash, width, height, status, error, " +
                        "indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", listOf(r.path) + values)
                    (db.query("SELECT id FROM photos WHERE path = ?", listOf(r.path)).single()[0] as Number).toLong()
                }
                if (r.error != null || r.vector == null) {
                    db.execute("DELETE FROM embeddings WHERE photo_id = ?", listOf(id))
                } else {
                    db.execute("INSERT OR REPLACE INTO embeddings (photo_id, model, vector, pq_code) VALUES (?, ?, ?, ?)",
                        listOf(id, model, Float16.encode(r.vector), r.pqCode))
                }
            }
            bumpGeneration()
        }
    }

    /** Encode stored (float16) vectors that have no code: rows written without one, or after new codebooks. */
    fun fillMissingCodes(model: String, pq: ProductQuantizer, chunk: Int = 4096): Int {
        var done = 0
        while (true) { // in chunks, one transaction each, so a large library is never all in memory twice
            val rows = db.query("SELECT photo_id, vector FROM embeddings WHERE model = ? AND pq_code IS NULL " +
                "AND vector IS NOT NULL ORDER BY photo_id LIMIT $chunk", listOf(model))
            if (rows.isEmpty()) return done
            db.transaction {
                for (r in rows) db.execute("UPDATE embeddings SET pq_code = ? WHERE photo_id = ? AND model = ?",
                    listOf(pq.encode(Float16.decode(r[1] as ByteArray)), r[0], model))
                bumpGeneration()
            }
            done += rows.size
        }
    }

    /** Same content, new size or mtime: keep the vector, update the stat. */
    fun touch(id: Long, size: Long, mtimeNs: Long) = db.transaction {
        db.execute("UPDATE photos SET size = ?, mtime_ns = ? WHERE id = ?", listOf(size, mtimeNs, id))
        bumpGeneration()
    }

    /** A moved or renamed photo keeps its row and its vector. */
    fun move(id: Long, path: String, size: Long, mtimeNs: Long) = db.transaction {
        db.execute("UPDATE photos SET path = ?, size = ?, mtime_ns = ? WHERE id = ?", listOf(path, size, mtimeNs, id))
        bumpGeneration()
    }

    fun markDeleted(ids: Collection<Long>) {
        val stamp = now()
        db.transaction {
            for (id in ids) {
                db.execute("UPDATE photos SET status = ?, indexed_at = ? WHERE id = ?", listOf(StoreSchema.Status.DELETED, stamp, id))
                db.execute("DELETE FROM embeddings WHERE photo_id = ?", listOf(id))
            }
            if (ids.isNotEmpty()) bumpGeneration()
        }
    }

    /** The vectors of `model` of the photos with status 'ok', in photo id order (as runtime.search.VectorIndex). */
    fun vectors(model: String): StoredVectors {
        val dim = meta()[StoreSchema.Meta.DIM]?.toInt() ?: throw StoreError("the store has no dim: bind a model first")
        val rows = db.query("SELECT p.id, p.path, e.vector, e.pq_code FROM embeddings e JOIN photos p ON p.id = e.photo_id " +
            "WHERE e.model = ? AND p.status = 'ok' ORDER BY p.id", listOf(model))
        val matrix = FloatArray(rows.size * dim)
        rows.forEachIndexed { i, r ->
            val v = Float16.decode(r[2] as ByteArray)
            if (v.size != dim) throw StoreError("photo ${r[1]}: vector of ${v.size} values, the store's dim is $dim")
            System.arraycopy(v, 0, matrix, i * dim, dim)
        }
        return StoredVectors(LongArray(rows.size) { (rows[it][0] as Number).toLong() }, rows.map { it[1] as String },
            dim, matrix, rows.map { it[3] as ByteArray? })
    }
}

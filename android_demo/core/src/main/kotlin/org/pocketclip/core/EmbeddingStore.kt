// Writing and reading the store (runtime/store/store.py's contract): photos by path, one float16 vector per
// (photo, model fingerprint), optional PQ code; one transaction per batch, so a killed run resumes with
// nothing duplicated and nothing half-written. Every SQL statement of the core is in this file.
package org.pocketclip.core

import java.time.OffsetDateTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.time.temporal.ChronoUnit

open class StoreError(message: String) : Exception(message)

/** The store was written by a newer pocketclip; this code does not know its schema. */
class StoreTooNew(message: String) : StoreError(message)

/** The store holds vectors of another model, preprocessing, dim or precision; re-index rather than mix them. */
class ModelMismatch(message: String) : StoreError(message)

data class PhotoRow(
    val id: Long, val path: String, val size: Long?, val mtimeNs: Long?, val contentHash: String?,
    val width: Int?, val height: Int?, val status: String, val error: String?, val indexedAt: String?,
    val facts: PhotoFacts = PhotoFacts.NONE,
)

/** What an indexing batch writes for one photo: its row with its facts (R21), and its vector unless decoding failed. */
data class PhotoRecord(
    val path: String, val size: Long, val mtimeNs: Long, val contentHash: String?, val width: Int?, val height: Int?,
    val error: String? = null, val vector: FloatArray? = null, val pqCode: ByteArray? = null,
    val rowId: Long? = null, val indexedAt: String? = null, val facts: PhotoFacts = PhotoFacts.NONE,
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
        private val FACTS = PhotoFacts.COLUMNS.joinToString(", ")
        private val FACTS_SET = PhotoFacts.COLUMNS.joinToString(", ") { "$it = ?" }

        /** runtime/store/blobs.py now(): UTC, seconds, "+00:00". */
        fun now(): String = format(OffsetDateTime.now(ZoneOffset.UTC))

        fun format(time: OffsetDateTime): String =
            time.withOffsetSameInstant(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS).format(SECONDS)

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
                applied("m001_initial")
            }
            if ("m002_photo_facts" !in applied) { // a store of schema version 1 gets the facts columns, empty (R22)
                StoreSchema.FACTS_DDL.forEach { db.execute(it) }
                applied("m002_photo_facts")
            }
        }
    }

    /** A migration recorded as sqlite-utils records it, and meta schema_version with it. */
    private fun applied(name: String) {
        putMeta(StoreSchema.Meta.SCHEMA_VERSION, StoreSchema.SCHEMA_VERSION.toString())
        db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            listOf(StoreSchema.MIGRATION_SET, name, OffsetDateTime.now(ZoneOffset.UTC).format(MICROS)))
    }

    // -- meta ---------------------------------------------------------------------------------------------
    fun meta(): Map<String, String> =
        db.query("SELECT key, value FROM meta").associate { it[0] as String to (it[1] as String? ?: "") }

    fun putMeta(key: String, value: String) {
        require(key in StoreSchema.Meta.ALL) { "not a meta key of the store contract: $key" }
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", listOf(key, value))
    }

    fun deleteMeta(key: String) = db.execute("DELETE FROM meta WHERE key = ?", listOf(key))

    /** Meta `generation` + 1, inside the transaction of a write to photos or embeddings (R18). */
    private fun bumpGeneration() {
        db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, '0')", listOf(StoreSchema.Meta.GENERATION))
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = ?", listOf(StoreSchema.Meta.GENERATION))
    }

    fun generation(): Long = meta()[StoreSchema.Meta.GENERATION]?.toLongOrNull() ?: 0L

    // -- binding ------------------------------------------------------------------------------------------
    /**
     * Record the store's model, preprocessing, dim and precision, or refuse different ones (R15): vectors of
     * two never mix. With `reindex`, every vector is dropped and every photo is embedded again.
     */
    fun bindModel(fingerprint: String, dim: Int, preprocessSha256: String, precision: String, reindex: Boolean = false) {
        val meta = meta()
        val wanted = linkedMapOf(StoreSchema.Meta.MODEL_FINGERPRINT to fingerprint,
            StoreSchema.Meta.PREPROCESS_SHA256 to preprocessSha256, StoreSchema.Meta.DIM to dim.toString(),
            StoreSchema.Meta.PRECISION to precision)
        val differs = wanted.filter { (key, value) -> meta[key] != null && meta[key] != value }.keys
        val hasVectors = db.query("SELECT 1 FROM embeddings LIMIT 1").isNotEmpty()
        if (differs.isNotEmpty() && hasVectors) {
            if (!reindex) throw ModelMismatch("the store holds vectors of another " + differs.joinToString(", ") {
                "$it ${meta[it]!!.take(12)} (the bundle: ${wanted[it]!!.take(12)})" } + "; re-index to re-embed every photo")
            db.transaction {
                db.execute("DELETE FROM embeddings")
                bumpGeneration()
            }
        }
        db.transaction { wanted.forEach { (key, value) -> putMeta(key, value) } }
    }

    /**
     * Make every stored code of `model` one of these codebooks (R17), in one transaction: new codebooks
     * re-encode every stored float16 vector, none clears every code. Returns how many were encoded.
     */
    fun bindCodebooks(pq: ProductQuantizer?, sha256: String?, model: String, chunk: Int = 4096): Int {
        val bound = meta()[StoreSchema.Meta.PQ_CODEBOOKS_SHA256]
        if (bound == sha256 && (sha256 != null ||
                db.query("SELECT 1 FROM embeddings WHERE pq_code IS NOT NULL LIMIT 1").isEmpty())) return 0
        return db.transaction {
            bumpGeneration()
            if (pq == null || sha256 == null) {
                db.execute("UPDATE embeddings SET pq_code = NULL")
                deleteMeta(StoreSchema.Meta.PQ_CODEBOOKS_SHA256)
                return@transaction 0
            }
            var done = 0
            var last = -1L
            while (true) { // in chunks of photo ids, so a large library is never all in memory twice
                val rows = db.query("SELECT photo_id, vector FROM embeddings WHERE model = ? AND photo_id > ? " +
                    "ORDER BY photo_id LIMIT $chunk", listOf(model, last))
                if (rows.isEmpty()) break
                for (r in rows) db.execute("UPDATE embeddings SET pq_code = ? WHERE photo_id = ? AND model = ?",
                    listOf(pq.encode(Float16.decode(r[1] as ByteArray)), r[0], model))
                done += rows.size
                last = (rows.last()[0] as Number).toLong()
            }
            putMeta(StoreSchema.Meta.PQ_CODEBOOKS_SHA256, sha256)
            done
        }
    }

    // -- photos -------------------------------------------------------------------------------------------
    fun photos(): Map<String, PhotoRow> = db.query(
        "SELECT id, path, size, mtime_ns, content_hash, width, height, status, error, indexed_at, $FACTS FROM photos ORDER BY id",
    ).associate { r ->
        r[1] as String to PhotoRow((r[0] as Number).toLong(), r[1] as String, (r[2] as Number?)?.toLong(),
            (r[3] as Number?)?.toLong(), r[4] as String?, (r[5] as Number?)?.toInt(), (r[6] as Number?)?.toInt(),
            r[7] as String, r[8] as String?, r[9] as String?, facts(r.subList(10, r.size)))
    }

    private fun facts(v: List<Any?>) = PhotoFacts(v[0] as String?, v[1] as String?, v[2] as String?,
        (v[3] as Number?)?.toDouble(), (v[4] as Number?)?.toDouble(), v[5] as String?, v[6] as String?, v[7] as String?,
        v[8] as String?, v[9] as String?, v[10] as String?)

    fun idsWithVector(model: String): Set<Long> =
        db.query("SELECT photo_id FROM embeddings WHERE model = ?", listOf(model)).map { (it[0] as Number).toLong() }.toSet()

    fun idsWithCode(): Set<Long> =
        db.query("SELECT photo_id FROM embeddings WHERE pq_code IS NOT NULL").map { (it[0] as Number).toLong() }.toSet()

    /**
     * Same content at a new stat, a move, or a restore (R4, R5, R7): the row keeps its vector, and its facts unless
     * `facts` (read for a row that had none, R22) are given.
     */
    fun updatePhoto(id: Long, path: String, size: Long, mtimeNs: Long, indexedAt: String?, facts: PhotoFacts? = null) =
        db.transaction {
            if (indexedAt != null) {
                db.execute("UPDATE photos SET path = ?, size = ?, mtime_ns = ?, status = 'ok', error = NULL, indexed_at = ? " +
                    "WHERE id = ?", listOf(path, size, mtimeNs, indexedAt, id))
            } else {
                db.execute("UPDATE photos SET path = ?, size = ?, mtime_ns = ?, status = 'ok', error = NULL WHERE id = ?",
                    listOf(path, size, mtimeNs, id))
            }
            if (facts != null) db.execute("UPDATE photos SET $FACTS_SET WHERE id = ?", facts.values() + id)
            bumpGeneration()
        }

    /** Every row's facts emptied, as a store migrated from schema version 1 has them (the scenarios' forget_facts). */
    fun forgetFacts() = db.transaction {
        db.execute("UPDATE photos SET " + PhotoFacts.COLUMNS.joinToString(", ") { "$it = NULL" })
        bumpGeneration()
    }

    /**
     * One batch in one transaction (R9): photo rows upserted, vectors (float16) and codes replaced, error rows
     * without a vector, and meta `decoding` (R20) set to `decoding` (null: removed) with them.
     */
    fun writeBatch(model: String, batch: List<PhotoRecord>, decoding: String? = null) {
        val stamp = now()
        db.transaction {
            for (r in batch) {
                val status = if (r.error != null) StoreSchema.Status.ERROR else StoreSchema.Status.OK
                val facts = if (r.error != null) PhotoFacts.NONE else r.facts // an error row has none (R21)
                val values = listOf(r.path, r.size, r.mtimeNs, r.contentHash, r.width, r.height, status, r.error,
                    r.indexedAt ?: stamp) + facts.values()
                val existing = r.rowId ?: db.query("SELECT id FROM photos WHERE path = ?", listOf(r.path))
                    .firstOrNull()?.let { (it[0] as Number).toLong() }
                val id = if (existing != null) {
                    db.execute("UPDATE photos SET path = ?, size = ?, mtime_ns = ?, content_hash = ?, width = ?, height = ?, " +
                        "status = ?, error = ?, indexed_at = ?, $FACTS_SET WHERE id = ?", values + existing)
                    existing
                } else {
                    db.execute("INSERT INTO photos (path, size, mtime_ns, content_hash, width, height, status, error, " +
                        "indexed_at, $FACTS) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ${PhotoFacts.COLUMNS.joinToString(", ") { "?" }})",
                        values)
                    (db.query("SELECT id FROM photos WHERE path = ?", listOf(r.path)).single()[0] as Number).toLong()
                }
                if (r.error != null || r.vector == null) {
                    db.execute("DELETE FROM embeddings WHERE photo_id = ?", listOf(id))
                } else {
                    db.execute("INSERT OR REPLACE INTO embeddings (photo_id, model, vector, pq_code) VALUES (?, ?, ?, ?)",
                        listOf(id, model, Float16.encode(r.vector), r.pqCode))
                }
            }
            if (decoding == null) deleteMeta(StoreSchema.Meta.DECODING) else putMeta(StoreSchema.Meta.DECODING, decoding)
            bumpGeneration()
        }
    }

    /** Meta `decoding` (R20) on its own, before a batch is decoded. */
    fun recordDecoding(decoding: String?) = db.transaction {
        if (decoding == null) deleteMeta(StoreSchema.Meta.DECODING) else putMeta(StoreSchema.Meta.DECODING, decoding)
    }

    /** Photos gone from the library: status 'deleted' as of `stamp`; their vectors stay, as tombstones (R6). */
    fun markDeleted(ids: Collection<Long>, stamp: String) {
        if (ids.isEmpty()) return
        db.transaction {
            for (id in ids) db.execute("UPDATE photos SET status = ?, indexed_at = ? WHERE id = ?",
                listOf(StoreSchema.Status.DELETED, stamp, id))
            bumpGeneration()
        }
    }

    /** Tombstones marked before `before` (ISO 8601 UTC), rows and vectors, removed (R19); how many. */
    fun purgeTombstones(before: String): Int = db.transaction {
        val ids = db.query("SELECT id FROM photos WHERE status = 'deleted' AND indexed_at < ?", listOf(before))
            .map { (it[0] as Number).toLong() }
        for (id in ids) {
            db.execute("DELETE FROM embeddings WHERE photo_id = ?", listOf(id))
            db.execute("DELETE FROM photos WHERE id = ?", listOf(id))
        }
        if (ids.isNotEmpty()) bumpGeneration()
        ids.size
    }

    // -- what searches read -------------------------------------------------------------------------------
    /** The vectors of `model` of the photos with status 'ok', in photo id order (as runtime/search/exact.py). */
    fun vectors(model: String): StoredVectors {
        val dim = meta()[StoreSchema.Meta.DIM]?.toInt() ?: throw StoreError("the store has no dim: bind a model first")
        val rows = db.query("SELECT p.id, p.path, e.vector, e.pq_code FROM embeddings e JOIN photos p ON p.id = e.photo_id " +
            "WHERE e.model = ? AND p.status = 'ok' AND e.vector IS NOT NULL ORDER BY p.id", listOf(model))
        val matrix = FloatArray(rows.size * dim)
        rows.forEachIndexed { i, r ->
            val v = Float16.decode(r[2] as ByteArray)
            if (v.size != dim) throw StoreError("photo ${r[1]}: vector of ${v.size} values, the store's dim is $dim")
            System.arraycopy(v, 0, matrix, i * dim, dim)
        }
        return StoredVectors(LongArray(rows.size) { (rows[it][0] as Number).toLong() }, rows.map { it[1] as String },
            dim, matrix, rows.map { it[3] as ByteArray? })
    }

    /** How many photos of `model` a search sees ('ok', with a vector). */
    fun searchableCount(model: String): Int = (db.query("SELECT count(*) FROM embeddings e JOIN photos p ON p.id = " +
        "e.photo_id WHERE e.model = ? AND p.status = 'ok' AND e.vector IS NOT NULL", listOf(model)).single()[0] as Number).toInt()

    /** Ids and PQ codes of the searchable photos, in id order, streamed without their vectors. */
    fun codes(model: String, codeBytes: Int, each: (Long, ByteArray) -> Unit): Int {
        var last = -1L
        var count = 0
        while (true) {
            val rows = db.query("SELECT p.id, e.pq_code FROM embeddings e JOIN photos p ON p.id = e.photo_id " +
                "WHERE e.model = ? AND p.status = 'ok' AND e.vector IS NOT NULL AND p.id > ? ORDER BY p.id LIMIT 8192",
                listOf(model, last))
            if (rows.isEmpty()) return count
            for (r in rows) {
                val code = r[1] as ByteArray? ?: throw StoreError("photo ${r[0]} has no PQ code: index again")
                if (code.size != codeBytes) throw StoreError("photo ${r[0]}: a code of ${code.size} bytes, expected $codeBytes")
                each((r[0] as Number).toLong(), code)
                count++
            }
            last = (rows.last()[0] as Number).toLong()
        }
    }

    /** The float16 vectors of a few photos (the candidates a search re-ranks), by id. */
    fun vectorsOf(model: String, ids: List<Long>): Map<Long, FloatArray> = ids.chunked(500).flatMap { part ->
        db.query("SELECT photo_id, vector FROM embeddings WHERE model = ? AND photo_id IN (${part.joinToString(",") { "?" }})",
            listOf(model) + part).map { (it[0] as Number).toLong() to Float16.decode(it[1] as ByteArray) }
    }.toMap()

    fun pathOf(id: Long): String? = db.query("SELECT path FROM photos WHERE id = ?", listOf(id)).firstOrNull()?.get(0) as String?
}

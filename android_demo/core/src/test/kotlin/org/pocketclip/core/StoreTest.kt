package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File

class StoreTest {
    private val manifest get() = TestInputs.manifest
    private val gallery by lazy { TestInputs.golden.array("gallery_image_embeddings.npy").floatRows() }

    /** Everything about a store's schema that SQLite reports, per table and index. */
    private fun describe(db: JdbcDriver): Map<String, Any?> {
        val out = LinkedHashMap<String, Any?>()
        out["sqlite_master"] = db.query("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
        for (table in StoreSchema.TABLES + "_sqlite_migrations") {
            out["table_info $table"] = db.query("PRAGMA table_info(\"$table\")")
            val indexes = db.query("PRAGMA index_list(\"$table\")")
            out["index_list $table"] = indexes
            for (index in indexes) out["index_info ${index[1]}"] = db.query("PRAGMA index_info(\"${index[1]}\")")
        }
        out["journal_mode"] = db.query("PRAGMA journal_mode")
        return out
    }

    private fun storeAt(file: File): Pair<JdbcDriver, EmbeddingStore> {
        listOf("", "-wal", "-shm").forEach { File(file.path + it).delete() }
        val db = JdbcDriver(file)
        return db to EmbeddingStore.open(db)
    }

    private val stableMeta = listOf(StoreSchema.Meta.SCHEMA_VERSION, StoreSchema.Meta.MODEL_FINGERPRINT,
        StoreSchema.Meta.DIM, StoreSchema.Meta.PREPROCESS_SHA256)

    @Test
    fun schemaMatchesPythonStore(@TempDir tmp: File) {
        val (db, store) = storeAt(File(tmp, "kotlin.db"))
        db.use {
            bindStore(store, Binding.of(manifest, "gallery", manifest.root.path, "onnx", "fp32"))
            JdbcDriver(TestInputs.pythonStore).use { python ->
                assertEquals(describe(python), describe(db))
                val pythonMeta = EmbeddingStore.open(python).meta()
                val meta = store.meta()
                for (key in stableMeta) assertEquals(pythonMeta[key], meta[key], "meta $key")
                assertEquals(pythonMeta[StoreSchema.Meta.PREPROCESS_SHA256], manifest.preprocessSha256)
            }
        }
        // A store newer than this code is refused, not misread.
        JdbcDriver(File(tmp, "kotlin.db")).use { db2 ->
            db2.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
            assertThrows(StoreTooNew::class.java) { EmbeddingStore.open(db2) }
        }
    }

    @Test
    fun readsPythonVectors() {
        JdbcDriver(TestInputs.pythonStore).use { db ->
            val store = EmbeddingStore.open(db)
            val vectors = store.vectors(manifest.fingerprint)
            assertEquals(gallery.size, vectors.size)
            assertEquals(manifest.embedDim, vectors.dim)
            gallery.forEachIndexed { i, v -> assertArrayEquals(Float16.decode(Float16.encode(v)), vectors.row(i)) }
            assertEquals(gallery.size, store.photos().values.count { it.status == StoreSchema.Status.OK })
            assertThrows(ModelMismatch::class.java) { store.bindModel("0".repeat(64), manifest.embedDim, manifest.preprocessSha256, "fp32") }
            assertThrows(ModelMismatch::class.java) { store.bindModel(manifest.fingerprint, manifest.embedDim, manifest.preprocessSha256, "int8") }
            val pq = ProductQuantizer.fromBundle(manifest)
            if (pq != null) { // codes made in Python from the float16 vectors, by the same rule
                assertEquals(manifest.pq!!.sha256, store.meta()[StoreSchema.Meta.PQ_CODEBOOKS_SHA256])
                for (i in 0 until vectors.size) assertArrayEquals(pq.encode(vectors.row(i)), vectors.pqCodes[i], "code $i")
            }
            val captions = TestInputs.golden.array("gallery_text_embeddings.npy").floatRows()
            val top1 = captions.count { q ->
                Search.top(Search.scores(vectors.matrix, vectors.dim, q), 1)[0] ==
                    Search.top(Search.scores(TestInputs.golden.array("gallery_image_embeddings.npy").floats(), vectors.dim, q), 1)[0]
            }
            assertEquals(captions.size, top1, "float16 storage keeps every caption's best photo")
        }
    }

    @Test
    fun migratesAVersion1StoreOnOpen(@TempDir tmp: File) {
        JdbcDriver(File(tmp, "v1.db")).use { db -> // a store as schema version 1 wrote it, with one indexed photo
            db.transaction {
                (StoreSchema.MIGRATIONS_DDL + StoreSchema.DDL).forEach { db.execute(it) }
                db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
                db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, 'm001_initial', " +
                    "'2026-01-01 00:00:00.000000+00:00')", listOf(StoreSchema.MIGRATION_SET))
                db.execute("INSERT INTO photos (path, size, mtime_ns, content_hash, status) VALUES ('a.jpg', 1, 2, 'h', 'ok')")
            }
        }
        JdbcDriver(File(tmp, "v1.db")).use { db ->
            val store = EmbeddingStore.open(db)
            assertEquals("2", store.meta()[StoreSchema.Meta.SCHEMA_VERSION])
            assertEquals(StoreSchema.MIGRATIONS, db.query("SELECT name FROM _sqlite_migrations ORDER BY id").map { it[0] })
            val columns = db.query("PRAGMA table_info(photos)").map { it[1] as String }
            assertEquals(PhotoFacts.COLUMNS, columns.takeLast(PhotoFacts.COLUMNS.size))
            assertEquals(PhotoFacts.NONE, store.photos().getValue("a.jpg").facts) // empty until the next run (R22)
            val indexes = db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_photos_%'")
            assertEquals(setOf("idx_photos_path", "idx_photos_content_hash", "idx_photos_taken_at", "idx_photos_place_country",
                "idx_photos_place_city"), indexes.map { it[0] }.toSet())
        }
        JdbcDriver(File(tmp, "v1.db")).use { db -> EmbeddingStore.open(db) } // a second open migrates nothing again
    }

    @Test
    fun writesAStorePythonReads() {
        val (db, store) = storeAt(TestInputs.outStore)
        db.use {
            val binding = Binding.of(manifest, "gallery", manifest.root.path, "onnx", "fp32")
            bindStore(store, binding.copy(pq = null, pqSha256 = null)) // codes come after the rows, as in Python
            val records = gallery.mapIndexed { i, v ->
                PhotoRecord("gallery/%03d.png".format(i), 1000L + i, 1_700_000_000_000_000_000L + i,
                    "%032x".format(i), 64, 64, vector = v)
            } + PhotoRecord("gallery/broken.png", 10, 1, "f".repeat(32), null, null, error = "cannot decode: truncated")
            for (batch in records.chunked(8)) store.writeBatch(manifest.fingerprint, batch)
            bindStore(store, binding) // codebooks arriving: every stored vector encoded in one transaction (R17)
            if (binding.pq != null) assertEquals(gallery.size, store.idsWithCode().size)
            assertEquals(gallery.size, store.vectors(manifest.fingerprint).size)
            assertEquals("error", store.photos().getValue("gallery/broken.png").status)
        }
    }
}

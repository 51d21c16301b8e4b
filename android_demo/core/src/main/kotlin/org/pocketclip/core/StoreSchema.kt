// The store's SQL, statement for statement as runtime/store/store.py creates it through sqlite-utils
// (including sqlite-utils' migrations table, so Python opens a phone's store without migrating it).
package org.pocketclip.core

object StoreSchema {
    const val SCHEMA_VERSION = 2
    const val MIGRATION_SET = "pocketclip-store"
    val MIGRATIONS = listOf("m001_initial", "m002_photo_facts")

    object Meta {
        const val SCHEMA_VERSION = "schema_version"
        const val MODEL_FINGERPRINT = "model_fingerprint"
        const val DIM = "dim"
        const val PREPROCESS_SHA256 = "preprocess_sha256"
        const val PQ_CODEBOOKS_SHA256 = "pq_codebooks_sha256"
        const val ROOT = "root"
        const val BUNDLE = "bundle"
        const val BACKEND = "backend"
        const val PRECISION = "precision"
        /** Raised by every write to photos or embeddings: derived copies of the store name the one they mirror. */
        const val GENERATION = "generation"
        /** The photos of batches being decoded, JSON {path: strikes} (docs/conformance.md, R20). */
        const val DECODING = "decoding"

        val ALL = setOf(SCHEMA_VERSION, MODEL_FINGERPRINT, DIM, PREPROCESS_SHA256, PQ_CODEBOOKS_SHA256, ROOT, BUNDLE,
            BACKEND, PRECISION, GENERATION, DECODING)
    }

    object Status {
        const val OK = "ok"
        const val ERROR = "error"
        const val DELETED = "deleted"
    }

    val MIGRATIONS_DDL = listOf(
        "CREATE TABLE \"_sqlite_migrations\" (\n   \"id\" INTEGER PRIMARY KEY,\n   \"migration_set\" TEXT,\n" +
            "   \"name\" TEXT,\n   \"applied_at\" TEXT\n)",
        "CREATE UNIQUE INDEX \"idx__sqlite_migrations_migration_set_name\"\n    ON \"_sqlite_migrations\" (\"migration_set\", \"name\")",
    )

    /** m001_initial: tables meta, photos, embeddings and the photos indexes. */
    val DDL = listOf(
        "CREATE TABLE \"meta\" (\n   \"key\" TEXT PRIMARY KEY,\n   \"value\" TEXT\n)",
        "CREATE TABLE \"photos\" (\n   \"id\" INTEGER PRIMARY KEY,\n   \"path\" TEXT NOT NULL,\n   \"size\" INTEGER,\n" +
            "   \"mtime_ns\" INTEGER,\n   \"content_hash\" TEXT,\n   \"width\" INTEGER,\n   \"height\" INTEGER,\n" +
            "   \"status\" TEXT NOT NULL,\n   \"error\" TEXT,\n   \"indexed_at\" TEXT\n)",
        "CREATE UNIQUE INDEX \"idx_photos_path\"\n    ON \"photos\" (\"path\")",
        "CREATE INDEX \"idx_photos_content_hash\"\n    ON \"photos\" (\"content_hash\")",
        "CREATE TABLE \"embeddings\" (\n   \"photo_id\" INTEGER REFERENCES \"photos\"(\"id\"),\n   \"model\" TEXT,\n" +
            "   \"vector\" BLOB,\n   \"pq_code\" BLOB,\n   PRIMARY KEY (\"photo_id\", \"model\")\n)",
    )

    /** The photos columns of the facts (docs/contracts.md, "Photo facts") and their SQLite types. */
    val FACT_COLUMNS = linkedMapOf("taken_at" to "TEXT", "taken_offset" to "TEXT", "taken_source" to "TEXT",
        "latitude" to "REAL", "longitude" to "REAL", "place_city" to "TEXT", "place_region" to "TEXT",
        "place_country" to "TEXT", "camera_make" to "TEXT", "camera_model" to "TEXT", "format" to "TEXT")

    /** m002_photo_facts: the facts columns (empty until read, R22) and their indexes, as sqlite-utils' add_column
     *  and create_index write them (SQLite keeps the ALTER's column text, so sqlite_master reads as Python's). */
    val FACTS_DDL = FACT_COLUMNS.map { (column, type) -> "ALTER TABLE \"photos\" ADD COLUMN \"$column\" $type" } +
        listOf("taken_at", "place_country", "place_city").map { column ->
            "CREATE INDEX \"idx_photos_$column\"\n    ON \"photos\" (\"$column\")"
        }

    val TABLES = listOf("meta", "photos", "embeddings")
}

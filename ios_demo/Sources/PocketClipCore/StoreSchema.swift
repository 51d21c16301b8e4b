// The store's SQL, exactly as runtime/store/store.py creates it through sqlite-utils (table and column
// names, types, NOT NULL, keys, indexes, even the SQL text), plus sqlite-utils' migrations table, so
// Python opens a phone's store as one of its own. tests/apps/test_ios_sources.py runs these statements
// and compares them with a store made by runtime.store.open_store.
import Foundation

public enum StoreSchema {
    /// runtime/store/schema.py SCHEMA_VERSION; a store with a newer one is refused, an older one migrated.
    public static let version = 2

    /// (name, SQL) in creation order, the SQL text exactly as sqlite-utils writes it (so even
    /// sqlite_master reads the same as in a Python store); each runs only if its object is missing.
    public static let statements: [(name: String, sql: String)] = [
        ("_sqlite_migrations", """
            CREATE TABLE "_sqlite_migrations" (
               "id" INTEGER PRIMARY KEY,
               "migration_set" TEXT,
               "name" TEXT,
               "applied_at" TEXT
            )
            """),
        ("idx__sqlite_migrations_migration_set_name", """
            CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
                ON "_sqlite_migrations" ("migration_set", "name")
            """),
        ("meta", """
            CREATE TABLE "meta" (
               "key" TEXT PRIMARY KEY,
               "value" TEXT
            )
            """),
        ("photos", """
            CREATE TABLE "photos" (
               "id" INTEGER PRIMARY KEY,
               "path" TEXT NOT NULL,
               "size" INTEGER,
               "mtime_ns" INTEGER,
               "content_hash" TEXT,
               "width" INTEGER,
               "height" INTEGER,
               "status" TEXT NOT NULL,
               "error" TEXT,
               "indexed_at" TEXT
            )
            """),
        ("idx_photos_path", """
            CREATE UNIQUE INDEX "idx_photos_path"
                ON "photos" ("path")
            """),
        ("idx_photos_content_hash", """
            CREATE INDEX "idx_photos_content_hash"
                ON "photos" ("content_hash")
            """),
        ("embeddings", """
            CREATE TABLE "embeddings" (
               "photo_id" INTEGER REFERENCES "photos"("id"),
               "model" TEXT,
               "vector" BLOB,
               "pq_code" BLOB,
               PRIMARY KEY ("photo_id", "model")
            )
            """),
    ]

    /// The photos columns of the facts (docs/contracts.md, "Photo facts") and their SQLite types.
    public static let factColumns: [(name: String, type: String)] = [
        ("taken_at", "TEXT"), ("taken_offset", "TEXT"), ("taken_source", "TEXT"), ("latitude", "REAL"),
        ("longitude", "REAL"), ("place_city", "TEXT"), ("place_region", "TEXT"), ("place_country", "TEXT"),
        ("camera_make", "TEXT"), ("camera_model", "TEXT"), ("format", "TEXT"),
    ]

    /// m002_photo_facts: the facts columns (empty until read, R22), as sqlite-utils' add_column writes them (SQLite
    /// keeps the ALTER's column text, so sqlite_master reads as Python's), then their indexes.
    public static let factsStatements: [String] = factColumns.map { "ALTER TABLE \"photos\" ADD COLUMN \"\($0.name)\" \($0.type)" }
        + factsIndexes

    static let factsIndexes = [
        """
        CREATE INDEX "idx_photos_taken_at"
            ON "photos" ("taken_at")
        """,
        """
        CREATE INDEX "idx_photos_place_country"
            ON "photos" ("place_country")
        """,
        """
        CREATE INDEX "idx_photos_place_city"
            ON "photos" ("place_city")
        """,
    ]

    /// Creates whatever of the schema version 1 is missing (a store is created once, then only opened).
    static func createMissing(_ driver: SQLDriver) throws {
        let existing = Set(try driver.query("SELECT name FROM sqlite_master", []).compactMap { $0[0].string })
        for statement in statements where !existing.contains(statement.name) {
            try driver.execute(statement.sql, [])
        }
    }

    /// The sqlite-utils migrations these statements stand for: recorded so runtime/store/schema.py does not re-run them.
    public static let migrationSet = "pocketclip-store"
    public static let migrationName = "m001_initial"
    public static let factsMigrationName = "m002_photo_facts"

    /// Meta keys (runtime/store/store.py Store.bind_model, runtime/library.py Library.create, the PQ contract).
    public enum MetaKey {
        public static let schemaVersion = "schema_version"
        public static let modelFingerprint = "model_fingerprint"
        public static let dim = "dim"
        public static let preprocessSha256 = "preprocess_sha256"
        public static let pqCodebooksSha256 = "pq_codebooks_sha256"
        public static let root = "root"
        public static let bundle = "bundle"
        public static let backend = "backend"
        public static let precision = "precision"
        /// Raised by every write to photos or embeddings: derived copies of the store name the one they mirror.
        public static let generation = "generation"
        /// The photos of batches being decoded, JSON {path: strikes} (docs/conformance.md, R20).
        public static let decoding = "decoding"

        public static let all: Set<String> = [schemaVersion, modelFingerprint, dim, preprocessSha256, pqCodebooksSha256,
                                              root, bundle, backend, precision, generation, decoding]
    }

    /// Values of photos.status.
    public enum Status {
        public static let ok = "ok"
        public static let error = "error"
        public static let deleted = "deleted"
    }
}

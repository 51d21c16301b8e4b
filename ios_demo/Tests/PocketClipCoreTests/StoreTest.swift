import Foundation
import XCTest
@testable import PocketClipCore

final class StoreTest: XCTestCase {
    private let stableMeta = [StoreSchema.MetaKey.schemaVersion, StoreSchema.MetaKey.modelFingerprint,
                              StoreSchema.MetaKey.dim, StoreSchema.MetaKey.preprocessSha256]

    /// Everything SQLite reports about a store's schema, per table and index.
    private func describe(_ db: SQLDriver) throws -> [String: [[SQLValue]]] {
        var out: [String: [[SQLValue]]] = [:]
        out["sqlite_master"] = try db.query("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name", [])
        for table in ["meta", "photos", "embeddings", "_sqlite_migrations"] {
            out["table_info \(table)"] = try db.query("PRAGMA table_info(\"\(table)\")", [])
            let indexes = try db.query("PRAGMA index_list(\"\(table)\")", [])
            out["index_list \(table)"] = indexes
            for index in indexes {
                let name = index[1].string ?? ""
                out["index_info \(name)"] = try db.query("PRAGMA index_info(\"\(name)\")", [])
            }
        }
        out["journal_mode"] = try db.query("PRAGMA journal_mode", [])
        return out
    }

    private func freshPath(_ url: URL) -> String {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: url.path + suffix) }
        return url.path
    }

    private func gallery(_ manifest: Manifest) throws -> [[Float]] {
        try TestInputs.golden("gallery_image_embeddings.npy", manifest).floatRows()
    }

    func testSchemaMatchesPythonStore() throws {
        let manifest = try TestInputs.manifest()
        let folder = try TestInputs.scratch("schema")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("swift.db").path
        do {
            let store = try PhotoStore(path: path)
            try bindStore(store, try Binding.of(manifest, root: "gallery", bundle: manifest.root.path, backend: "onnx",
                                                precision: "fp32"))
            let python = try SQLiteDriver(path: try TestInputs.pythonStore().path)
            let ours = try describe(store.driver), theirs = try describe(python)
            for key in Set(ours.keys).union(theirs.keys).sorted() {
                XCTAssertEqual(ours[key], theirs[key], key)
            }
            let pythonMeta = try PhotoStore(driver: python).meta(), meta = try store.meta()
            for key in stableMeta { XCTAssertEqual(meta[key], pythonMeta[key], "meta \(key)") }
        }
        // A store newer than this code is refused, not misread.
        try SQLiteDriver(path: path).execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'", [])
        XCTAssertThrowsError(try PhotoStore(path: path)) { error in
            guard case StoreError.tooNew(99) = error else { return XCTFail("expected tooNew, got \(error)") }
        }
    }

    func testMigratesAVersion1StoreOnOpen() throws {
        let folder = try TestInputs.scratch("migrate")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("v1.db").path
        do {  // a store as schema version 1 wrote it, with one indexed photo
            let db = try SQLiteDriver(path: path)
            for statement in StoreSchema.statements { try db.execute(statement.sql, []) }
            try db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')", [])
            try db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, 'm001_initial', "
                           + "'2026-01-01 00:00:00.000000+00:00')", [.text(StoreSchema.migrationSet)])
            try db.execute("INSERT INTO photos (path, size, mtime_ns, content_hash, status) VALUES ('a.jpg', 1, 2, 'h', 'ok')", [])
        }
        let store = try PhotoStore(path: path)
        XCTAssertEqual(try store.meta()[StoreSchema.MetaKey.schemaVersion], "2")
        XCTAssertEqual(try store.driver.query("SELECT name FROM _sqlite_migrations ORDER BY id", []).compactMap(\.first?.string),
                       [StoreSchema.migrationName, StoreSchema.factsMigrationName])
        let columns = try store.driver.query("PRAGMA table_info(photos)", []).compactMap { $0[1].string }
        XCTAssertEqual(Array(columns.suffix(PhotoFacts.columns.count)), PhotoFacts.columns)
        XCTAssertEqual(try store.photos().first?.facts, PhotoFacts.empty)  // empty until the next run (R22)
        let indexes = try store.driver.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_photos_%'", [])
        XCTAssertEqual(Set(indexes.compactMap { $0[0].string }),
                       ["idx_photos_path", "idx_photos_content_hash", "idx_photos_taken_at", "idx_photos_place_country",
                        "idx_photos_place_city"])
        _ = try PhotoStore(path: path)  // a second open migrates nothing again
    }

    func testReadsPythonVectors() throws {
        let manifest = try TestInputs.manifest()
        let gallery = try gallery(manifest)
        let store = try PhotoStore(path: try TestInputs.pythonStore().path)
        let stored = try store.vectors(model: manifest.model.fingerprint)
        XCTAssertEqual(stored.ids.count, gallery.count)
        XCTAssertEqual(stored.matrix.dim, manifest.model.embedDim)
        for (i, vector) in gallery.enumerated() {
            XCTAssertEqual(Array(stored.matrix.row(i)), Float16Codec.decode(Float16Codec.encode(vector)), "row \(i)")
        }
        XCTAssertEqual(try store.photos().filter { $0.status == StoreSchema.Status.ok }.count, gallery.count)
        if manifest.pq != nil {  // codes made in Python from the float16 vectors, by the same rule
            let books = try Codebooks(manifest: manifest)
            XCTAssertEqual(try store.meta()[StoreSchema.MetaKey.pqCodebooksSha256], manifest.pq?.sha256)
            let codes = try XCTUnwrap(stored.codes, "the Python store has PQ codes")
            for i in 0 ..< stored.ids.count {
                XCTAssertEqual(books.encode(Array(stored.matrix.row(i))), codes.code(i), "code \(i)")
            }
        }
        // float16 storage keeps every caption's best photo.
        let exact = VectorMatrix(dim: manifest.model.embedDim, values: gallery.flatMap { $0 })
        for query in try TestInputs.golden("gallery_text_embeddings.npy", manifest).floatRows() {
            XCTAssertEqual(Search.exact(stored.matrix, query: query, k: 1).first?.index,
                           Search.exact(exact, query: query, k: 1).first?.index)
        }
    }

    func testWritesAStorePythonReads() throws {
        let manifest = try TestInputs.manifest()
        let gallery = try gallery(manifest)
        let store = try PhotoStore(path: freshPath(try TestInputs.outStore()))
        var binding = try Binding.of(manifest, root: "gallery", bundle: manifest.root.path, backend: "onnx", precision: "fp32")
        let books = binding.books
        binding.books = nil
        binding.booksSha256 = nil
        try bindStore(store, binding)  // codes come after the rows, as in Python
        var photos = gallery.enumerated().map { i, vector -> IndexedPhoto in
            IndexedPhoto(record: PhotoRecord(path: String(format: "gallery/%03ld.png", i), size: 1000 + Int64(i),
                                             mtimeNs: 1_700_000_000_000_000_000 + Int64(i),
                                             contentHash: String(format: "%032lx", i), width: 64, height: 64),
                         vector: vector)
        }
        photos.append(IndexedPhoto(record: PhotoRecord(path: "gallery/broken.png", size: 10, mtimeNs: 1,
                                                       contentHash: String(repeating: "f", count: 32),
                                                       status: StoreSchema.Status.error, error: "cannot decode: truncated"),
                                   vector: nil))
        var start = 0
        while start < photos.count {
            try store.write(Array(photos[start ..< min(start + 8, photos.count)]), model: manifest.model.fingerprint)
            start += 8
        }
        binding.books = books
        binding.booksSha256 = manifest.pq?.sha256
        try bindStore(store, binding)  // codebooks arriving: every stored vector encoded in one transaction (R17)
        if books != nil { XCTAssertEqual(try store.codedIDs().count, gallery.count) }
        XCTAssertEqual(try store.vectors(model: manifest.model.fingerprint).ids.count, gallery.count)
        XCTAssertEqual(try store.photos().first { $0.path == "gallery/broken.png" }?.status, "error")
        _ = try store.driver.query("PRAGMA wal_checkpoint(TRUNCATE)", [])  // everything in the main file for Python
    }
}

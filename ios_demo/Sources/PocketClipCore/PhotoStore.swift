// The embedding store shared with Python (runtime/store/store.py): one row per photo, one float16 vector
// (and optional PQ code) per (photo, model), bound to one model; one transaction per batch, so an
// interrupted indexing run resumes with nothing duplicated and nothing half-written.
import Foundation

public enum StoreError: Error, CustomStringConvertible {
    case tooNew(Int)
    case modelMismatch(stored: String, bundle: String)
    case other(String)

    public var description: String {
        switch self {
        case .tooNew(let version):
            return "the store has schema version \(version); this app reads up to \(StoreSchema.version)"
        case .modelMismatch(let stored, let bundle):
            return "the store holds vectors of model \(stored.prefix(12)), the bundle is model \(bundle.prefix(12)); "
                + "re-index to re-embed every photo"
        case .other(let why):
            return why
        }
    }
}

public struct PhotoRecord: Equatable {
    public var id: Int64?
    public var path: String  // PhotoKit local identifier on a phone; relative '/'-separated path in Python
    public var size: Int64?
    public var mtimeNs: Int64?
    public var contentHash: String?
    public var width: Int?
    public var height: Int?
    public var status: String
    public var error: String?
    public var indexedAt: String?

    public init(id: Int64? = nil, path: String, size: Int64? = nil, mtimeNs: Int64? = nil, contentHash: String? = nil,
                width: Int? = nil, height: Int? = nil, status: String = StoreSchema.Status.ok, error: String? = nil,
                indexedAt: String? = nil) {
        self.id = id
        self.path = path
        self.size = size
        self.mtimeNs = mtimeNs
        self.contentHash = contentHash
        self.width = width
        self.height = height
        self.status = status
        self.error = error
        self.indexedAt = indexedAt
    }
}

/// One photo of a batch: its row, and its vector unless it failed to decode.
public struct IndexedPhoto {
    public var record: PhotoRecord
    public var vector: [Float]?
    public var pqCode: [UInt8]?

    public init(record: PhotoRecord, vector: [Float]?, pqCode: [UInt8]? = nil) {
        self.record = record
        self.vector = vector
        self.pqCode = pqCode
    }
}

/// The vectors of one model for search: photos in id order, as runtime/search/exact.py VectorIndex.
public struct StoredVectors {
    public var ids: [Int64] = []
    public var paths: [String] = []
    public var matrix: VectorMatrix
    public var codes: PQCodes?
}

public final class PhotoStore {
    public let driver: SQLDriver

    /// Opens (creating) the store; refuses one newer than this code.
    public init(driver: SQLDriver) throws {
        self.driver = driver
        let existing = try driver.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'", [])
        if !existing.isEmpty, let version = try meta()[StoreSchema.MetaKey.schemaVersion].flatMap(Int.init),
           version > StoreSchema.version {
            throw StoreError.tooNew(version)
        }
        _ = try? driver.query("PRAGMA journal_mode = WAL", [])
        try driver.transaction {
            try StoreSchema.createMissing(driver)
            try driver.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                               [.text(StoreSchema.MetaKey.schemaVersion), .text(String(StoreSchema.version))])
            try driver.execute("INSERT OR IGNORE INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
                               [.text(StoreSchema.migrationSet), .text(StoreSchema.migrationName), .text(Self.migrationStamp())])
        }
    }

    public convenience init(path: String) throws {
        try self.init(driver: try SQLiteDriver(path: path))
    }

    // MARK: meta

    public func meta() throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try driver.query("SELECT key, value FROM meta", []) {
            if let key = row[0].string { out[key] = row[1].string }
        }
        return out
    }

    public func setMeta(_ values: [(String, String)]) throws {
        try driver.transaction {
            for (key, value) in values {
                try driver.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [.text(key), .text(value)])
            }
        }
    }

    /// Meta `generation` + 1, inside the transaction of a write to photos or embeddings (runtime/store/store.py):
    /// the copies a desktop keeps beside a store name the generation they mirror.
    private func bumpGeneration() throws {
        let key = SQLValue.text(StoreSchema.MetaKey.generation)
        try driver.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, '0')", [key])
        try driver.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = ?", [key])
    }

    /// Records the store's model, or refuses a different one (with `reindex`, drops the old vectors),
    /// as runtime/library.py bind_bundle.
    public func bind(_ manifest: Manifest, reindex: Bool = false) throws {
        let fingerprint = manifest.model.fingerprint
        if let old = try meta()[StoreSchema.MetaKey.modelFingerprint], old != fingerprint {
            guard reindex else { throw StoreError.modelMismatch(stored: old, bundle: fingerprint) }
            try driver.transaction {
                try driver.execute("DELETE FROM embeddings WHERE model != ?", [.text(fingerprint)])
                try bumpGeneration()
            }
        }
        try setMeta([(StoreSchema.MetaKey.modelFingerprint, fingerprint),
                     (StoreSchema.MetaKey.dim, String(manifest.model.embedDim)),
                     (StoreSchema.MetaKey.preprocessSha256, manifest.preprocessSha256)])
    }

    /// Makes every stored code of `model` belong to these codebooks (runtime/store/store.py Store.bind_codebooks):
    /// codes of other codebooks are re-made from the stored float16 vectors (nothing is re-embedded);
    /// no codebooks clears them. Returns how many vectors were encoded.
    @discardableResult
    public func bindCodebooks(_ books: Codebooks?, sha256: String?, model: String) throws -> Int {
        let key = StoreSchema.MetaKey.pqCodebooksSha256
        if let sha256, try meta()[key] == sha256 { return 0 }
        return try driver.transaction { () throws -> Int in
            try bumpGeneration()
            guard let books, let sha256 else {
                try driver.execute("UPDATE embeddings SET pq_code = NULL", [])
                try driver.execute("DELETE FROM meta WHERE key = ?", [.text(key)])
                return 0
            }
            let rows = try driver.query("SELECT photo_id, vector FROM embeddings WHERE model = ?", [.text(model)])
            for row in rows {
                guard let id = row[0].int, let blob = row[1].data, blob.count == books.dim * 2 else { continue }
                let code = books.encode(Float16Codec.decode(blob))
                try driver.execute("UPDATE embeddings SET pq_code = ? WHERE photo_id = ? AND model = ?",
                                   [.blob(Data(code)), .integer(id), .text(model)])
            }
            try driver.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [.text(key), .text(sha256)])
            return rows.count
        }
    }

    /// What the vectors were made from (runtime/library.py Library.create); refuses a second root.
    public func rememberSource(root: String, bundle: String, backend: String, precision: String) throws {
        if let known = try meta()[StoreSchema.MetaKey.root], known != root {
            throw StoreError.other("this store indexes \(known); use another store for \(root)")
        }
        try setMeta([(StoreSchema.MetaKey.root, root), (StoreSchema.MetaKey.bundle, bundle),
                     (StoreSchema.MetaKey.backend, backend), (StoreSchema.MetaKey.precision, precision)])
    }

    // MARK: photos

    public func photos() throws -> [PhotoRecord] {
        try driver.query("SELECT id, path, size, mtime_ns, content_hash, width, height, status, error, indexed_at "
                         + "FROM photos ORDER BY id", []).map { r in
            PhotoRecord(id: r[0].int, path: r[1].string ?? "", size: r[2].int, mtimeNs: r[3].int, contentHash: r[4].string,
                        width: r[5].int.map { Int($0) }, height: r[6].int.map { Int($0) }, status: r[7].string ?? "",
                        error: r[8].string, indexedAt: r[9].string)
        }
    }

    /// Ids of photos that have a vector of `model`.
    public func embeddedIDs(model: String) throws -> Set<Int64> {
        Set(try driver.query("SELECT photo_id FROM embeddings WHERE model = ?", [.text(model)]).compactMap { $0[0].int })
    }

    /// One batch in one transaction: each photo upserted by path, its vector (or, if it failed, none) replaced.
    public func write(_ batch: [IndexedPhoto], model: String) throws {
        let stamp = Self.now()
        try driver.transaction {
            for item in batch {
                let r = item.record
                try driver.execute("""
                    INSERT INTO photos (path, size, mtime_ns, content_hash, width, height, status, error, indexed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                        content_hash = excluded.content_hash, width = excluded.width, height = excluded.height,
                        status = excluded.status, error = excluded.error, indexed_at = excluded.indexed_at
                    """, [.text(r.path), Self.value(r.size), Self.value(r.mtimeNs), Self.value(r.contentHash),
                          Self.value(r.width.map { Int64($0) }), Self.value(r.height.map { Int64($0) }),
                          .text(r.status), Self.value(r.error), .text(r.indexedAt ?? stamp)])
                guard let id = try driver.query("SELECT id FROM photos WHERE path = ?", [.text(r.path)]).first?[0].int else {
                    throw StoreError.other("photo \(r.path) vanished inside its own transaction")
                }
                if let vector = item.vector, r.status == StoreSchema.Status.ok {
                    try driver.execute("INSERT OR REPLACE INTO embeddings (photo_id, model, vector, pq_code) VALUES (?, ?, ?, ?)",
                                       [.integer(id), .text(model), .blob(Float16Codec.encode(vector)),
                                        item.pqCode.map { SQLValue.blob(Data($0)) } ?? SQLValue.null])
                } else {
                    try driver.execute("DELETE FROM embeddings WHERE photo_id = ?", [.integer(id)])
                }
            }
            try bumpGeneration()
        }
    }

    /// Photos gone from the library: status 'deleted', vectors dropped (runtime/indexing/indexer.py _mark_deleted).
    public func markDeleted(paths: [String]) throws {
        let stamp = Self.now()
        try driver.transaction {
            for path in paths {
                try driver.execute("UPDATE photos SET status = ?, indexed_at = ? WHERE path = ?",
                                   [.text(StoreSchema.Status.deleted), .text(stamp), .text(path)])
                try driver.execute("DELETE FROM embeddings WHERE photo_id IN (SELECT id FROM photos WHERE path = ?)",
                                   [.text(path)])
            }
            if !paths.isEmpty { try bumpGeneration() }
        }
    }

    /// Every 'ok' photo's vector of `model`, in id order, decoded from float16 once.
    public func vectors(model: String) throws -> StoredVectors {
        guard let dim = try meta()[StoreSchema.MetaKey.dim].flatMap(Int.init), dim > 0 else {
            throw StoreError.other("the store has no model bound yet (no 'dim' in meta)")
        }
        let rows = try driver.query("SELECT p.id, p.path, e.vector, e.pq_code FROM embeddings e JOIN photos p "
                                    + "ON p.id = e.photo_id WHERE e.model = ? AND p.status = 'ok' ORDER BY p.id",
                                    [.text(model)])
        var out = StoredVectors(matrix: VectorMatrix(dim: dim))
        let codeLength = rows.first?[3].data?.count ?? 0
        var codes = codeLength > 0 ? PQCodes(codeBytes: codeLength) : nil
        for row in rows {
            guard let id = row[0].int, let blob = row[2].data, blob.count == dim * 2 else { continue }
            out.ids.append(id)
            out.paths.append(row[1].string ?? "")
            out.matrix.append(Float16Codec.decode(blob))
            if let code = row[3].data, code.count == codeLength {
                codes?.append([UInt8](code))
            } else {
                codes = nil  // a photo without a code: PQ search is off until the codes are rebuilt
            }
        }
        out.codes = codes
        return out
    }

    // MARK: helpers

    static func value(_ v: Int64?) -> SQLValue { v.map { SQLValue.integer($0) } ?? SQLValue.null }
    static func value(_ v: String?) -> SQLValue { v.map { SQLValue.text($0) } ?? SQLValue.null }

    /// ISO 8601 UTC to the second, as runtime/store/blobs.py now().
    public static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date()).replacingOccurrences(of: "Z", with: "+00:00")
    }

    /// sqlite-utils' applied_at format: "2026-01-02 03:04:05.678901+00:00".
    static func migrationStamp() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSS"
        return formatter.string(from: Date()) + "+00:00"
    }
}

// The embedding store shared with Python (runtime/store/store.py): one row per photo, one float16 vector
// (and optional PQ code) per (photo, model), bound to one model; one transaction per batch, so an
// interrupted indexing run resumes with nothing duplicated and nothing half-written.
import Foundation

public enum StoreError: Error, CustomStringConvertible {
    case tooNew(Int)
    case modelMismatch(String)
    case other(String)

    public var description: String {
        switch self {
        case .tooNew(let version):
            return "the store has schema version \(version); this app reads up to \(StoreSchema.version)"
        case .modelMismatch(let what):
            return "the store holds vectors of another \(what); re-index to re-embed every photo"
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
    /// What the photo says about itself (R21); none on an error row, none yet on a row of a migrated store (R22).
    public var facts: PhotoFacts

    public init(id: Int64? = nil, path: String, size: Int64? = nil, mtimeNs: Int64? = nil, contentHash: String? = nil,
                width: Int? = nil, height: Int? = nil, status: String = StoreSchema.Status.ok, error: String? = nil,
                indexedAt: String? = nil, facts: PhotoFacts = .empty) {
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
        self.facts = facts
    }
}

/// One photo of a batch: its row (`record.id`: the row it replaces, if any), and its vector unless it failed.
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
            let applied = try driver.query("SELECT 1 FROM _sqlite_migrations WHERE migration_set = ? AND name = ?",
                                           [.text(StoreSchema.migrationSet), .text(StoreSchema.factsMigrationName)])
            if applied.isEmpty {  // a store of schema version 1 gets the facts columns, empty (R22)
                for statement in StoreSchema.factsStatements { try driver.execute(statement, []) }
                try driver.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                   [.text(StoreSchema.MetaKey.schemaVersion), .text(String(StoreSchema.version))])
                try driver.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
                                   [.text(StoreSchema.migrationSet), .text(StoreSchema.factsMigrationName),
                                    .text(Self.migrationStamp())])
            }
        }
    }

    private static let factsList = PhotoFacts.columns.joined(separator: ", ")
    private static let factsSet = PhotoFacts.columns.map { "\($0) = ?" }.joined(separator: ", ")

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
                guard StoreSchema.MetaKey.all.contains(key) else { throw StoreError.other("not a meta key: \(key)") }
                try driver.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [.text(key), .text(value)])
            }
        }
    }

    private func deleteMeta(_ key: String) throws {
        try driver.execute("DELETE FROM meta WHERE key = ?", [.text(key)])
    }

    /// Meta `generation` + 1, inside the transaction of a write to photos or embeddings (R18).
    private func bumpGeneration() throws {
        let key = SQLValue.text(StoreSchema.MetaKey.generation)
        try driver.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, '0')", [key])
        try driver.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = ?", [key])
    }

    public func generation() throws -> Int64 { Int64(try meta()[StoreSchema.MetaKey.generation] ?? "0") ?? 0 }

    // MARK: binding

    /// Records the store's model, preprocessing, dim and precision, or refuses different ones (R15): vectors of two
    /// never mix. With `reindex` every vector is dropped and every photo embedded again.
    public func bindModel(fingerprint: String, dim: Int, preprocessSha256: String, precision: String,
                          reindex: Bool = false) throws {
        let meta = try meta()
        let wanted = [(StoreSchema.MetaKey.modelFingerprint, fingerprint),
                      (StoreSchema.MetaKey.preprocessSha256, preprocessSha256),
                      (StoreSchema.MetaKey.dim, String(dim)), (StoreSchema.MetaKey.precision, precision)]
        let differs = wanted.filter { key, value in meta[key] != nil && meta[key] != value }
        let hasVectors = !(try driver.query("SELECT 1 FROM embeddings LIMIT 1", [])).isEmpty
        if !differs.isEmpty && hasVectors {
            guard reindex else {
                throw StoreError.modelMismatch(differs.map { key, value in
                    "\(key) \(meta[key]!.prefix(12)) (the bundle: \(value.prefix(12)))" }.joined(separator: ", "))
            }
            try driver.transaction {
                try driver.execute("DELETE FROM embeddings", [])
                try bumpGeneration()
            }
        }
        try setMeta(wanted)
    }

    /// Makes every stored code of `model` one of these codebooks (R17), in one transaction: new codebooks re-encode
    /// every stored float16 vector (nothing is re-embedded), none clears every code. Returns how many were encoded.
    @discardableResult
    public func bindCodebooks(_ books: Codebooks?, sha256: String?, model: String) throws -> Int {
        let key = StoreSchema.MetaKey.pqCodebooksSha256
        let bound = try meta()[key]
        let hasCodes = !(try driver.query("SELECT 1 FROM embeddings WHERE pq_code IS NOT NULL LIMIT 1", [])).isEmpty
        if bound == sha256, sha256 != nil || !hasCodes { return 0 }
        return try driver.transaction { () throws -> Int in
            try bumpGeneration()
            guard let books, let sha256 else {
                try driver.execute("UPDATE embeddings SET pq_code = NULL", [])
                try deleteMeta(key)
                return 0
            }
            var done = 0
            var last: Int64 = -1
            while true {  // in chunks of photo ids, so a large library is never all in memory twice
                let rows = try driver.query("SELECT photo_id, vector FROM embeddings WHERE model = ? AND photo_id > ? "
                                            + "ORDER BY photo_id LIMIT 4096", [.text(model), .integer(last)])
                guard let tail = rows.last?[0].int else { break }
                for row in rows {
                    guard let id = row[0].int, let blob = row[1].data else { continue }
                    try driver.execute("UPDATE embeddings SET pq_code = ? WHERE photo_id = ? AND model = ?",
                                       [.blob(Data(books.encode(Float16Codec.decode(blob)))), .integer(id), .text(model)])
                }
                done += rows.count
                last = tail
            }
            try driver.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [.text(key), .text(sha256)])
            return done
        }
    }

    // MARK: photos

    public func photos() throws -> [PhotoRecord] {
        try driver.query("SELECT id, path, size, mtime_ns, content_hash, width, height, status, error, indexed_at, "
                         + "\(Self.factsList) FROM photos ORDER BY id", []).map { r in
            PhotoRecord(id: r[0].int, path: r[1].string ?? "", size: r[2].int, mtimeNs: r[3].int, contentHash: r[4].string,
                        width: r[5].int.map { Int($0) }, height: r[6].int.map { Int($0) }, status: r[7].string ?? "",
                        error: r[8].string, indexedAt: r[9].string, facts: PhotoFacts(row: r[10...]))
        }
    }

    /// Ids of photos that have a vector of `model`.
    public func embeddedIDs(model: String) throws -> Set<Int64> {
        Set(try driver.query("SELECT photo_id FROM embeddings WHERE model = ?", [.text(model)]).compactMap { $0[0].int })
    }

    /// Ids of photos whose vector has a PQ code.
    public func codedIDs() throws -> Set<Int64> {
        Set(try driver.query("SELECT photo_id FROM embeddings WHERE pq_code IS NOT NULL", []).compactMap { $0[0].int })
    }

    /// Same content at a new stat, a move, or a restore (R4, R5, R7): the row keeps its vector, and its facts unless
    /// `facts` (read for a row that had none, R22) are given.
    public func updatePhoto(id: Int64, path: String, size: Int64, mtimeNs: Int64, indexedAt: String?,
                            facts: PhotoFacts? = nil) throws {
        try driver.transaction {
            if let indexedAt {
                try driver.execute("UPDATE photos SET path = ?, size = ?, mtime_ns = ?, status = 'ok', error = NULL, "
                                   + "indexed_at = ? WHERE id = ?",
                                   [.text(path), .integer(size), .integer(mtimeNs), .text(indexedAt), .integer(id)])
            } else {
                try driver.execute("UPDATE photos SET path = ?, size = ?, mtime_ns = ?, status = 'ok', error = NULL "
                                   + "WHERE id = ?", [.text(path), .integer(size), .integer(mtimeNs), .integer(id)])
            }
            if let facts {
                try driver.execute("UPDATE photos SET \(Self.factsSet) WHERE id = ?", facts.values + [.integer(id)])
            }
            try bumpGeneration()
        }
    }

    /// Every row's facts emptied, as a store migrated from schema version 1 has them (the scenarios' forget_facts).
    public func forgetFacts() throws {
        try driver.transaction {
            try driver.execute("UPDATE photos SET " + PhotoFacts.columns.map { "\($0) = NULL" }.joined(separator: ", "), [])
            try bumpGeneration()
        }
    }

    /// One batch in one transaction (R9): each photo's row (its `record.id` replaced, else inserted), its vector (or,
    /// if it failed, none) and meta `decoding` (R20; nil: removed) together.
    public func write(_ batch: [IndexedPhoto], model: String, decoding: String? = nil) throws {
        let stamp = Self.now()
        try driver.transaction {
            for item in batch {
                let r = item.record
                let facts = r.status == StoreSchema.Status.ok ? r.facts : .empty  // an error row has none (R21)
                let values: [SQLValue] = [.text(r.path), Self.value(r.size), Self.value(r.mtimeNs), Self.value(r.contentHash),
                                          Self.value(r.width.map { Int64($0) }), Self.value(r.height.map { Int64($0) }),
                                          .text(r.status), Self.value(r.error), .text(r.indexedAt ?? stamp)] + facts.values
                let existing: Int64?
                if let id = r.id {
                    existing = id
                } else {
                    existing = try driver.query("SELECT id FROM photos WHERE path = ?", [.text(r.path)]).first?[0].int
                }
                let id: Int64
                if let existing {
                    try driver.execute("UPDATE photos SET path = ?, size = ?, mtime_ns = ?, content_hash = ?, width = ?, "
                                       + "height = ?, status = ?, error = ?, indexed_at = ?, \(Self.factsSet) WHERE id = ?",
                                       values + [.integer(existing)])
                    id = existing
                } else {
                    let marks = Array(repeating: "?", count: values.count).joined(separator: ", ")
                    try driver.execute("INSERT INTO photos (path, size, mtime_ns, content_hash, width, height, status, "
                                       + "error, indexed_at, \(Self.factsList)) VALUES (\(marks))", values)
                    guard let inserted = try driver.query("SELECT id FROM photos WHERE path = ?", [.text(r.path)]).first?[0].int
                    else { throw StoreError.other("photo \(r.path) vanished inside its own transaction") }
                    id = inserted
                }
                if let vector = item.vector, r.status == StoreSchema.Status.ok {
                    try driver.execute("INSERT OR REPLACE INTO embeddings (photo_id, model, vector, pq_code) VALUES (?, ?, ?, ?)",
                                       [.integer(id), .text(model), .blob(Float16Codec.encode(vector)),
                                        item.pqCode.map { SQLValue.blob(Data($0)) } ?? SQLValue.null])
                } else {
                    try driver.execute("DELETE FROM embeddings WHERE photo_id = ?", [.integer(id)])
                }
            }
            if let decoding {
                try driver.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                   [.text(StoreSchema.MetaKey.decoding), .text(decoding)])
            } else {
                try deleteMeta(StoreSchema.MetaKey.decoding)
            }
            try bumpGeneration()
        }
    }

    /// Meta `decoding` (R20) on its own, before a batch is decoded.
    public func recordDecoding(_ decoding: String?) throws {
        try driver.transaction {
            if let decoding {
                try driver.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                   [.text(StoreSchema.MetaKey.decoding), .text(decoding)])
            } else {
                try deleteMeta(StoreSchema.MetaKey.decoding)
            }
        }
    }

    /// Photos gone from the library: status 'deleted' as of `stamp`; their vectors stay, as tombstones (R6).
    public func markDeleted(ids: [Int64], stamp: String) throws {
        guard !ids.isEmpty else { return }
        try driver.transaction {
            for id in ids {
                try driver.execute("UPDATE photos SET status = ?, indexed_at = ? WHERE id = ?",
                                   [.text(StoreSchema.Status.deleted), .text(stamp), .integer(id)])
            }
            try bumpGeneration()
        }
    }

    /// Tombstones marked before `before` (ISO 8601 UTC), rows and vectors, removed (R19); how many.
    @discardableResult
    public func purgeTombstones(before: String) throws -> Int {
        try driver.transaction { () throws -> Int in
            let ids = try driver.query("SELECT id FROM photos WHERE status = 'deleted' AND indexed_at < ?",
                                       [.text(before)]).compactMap { $0[0].int }
            for id in ids {
                try driver.execute("DELETE FROM embeddings WHERE photo_id = ?", [.integer(id)])
                try driver.execute("DELETE FROM photos WHERE id = ?", [.integer(id)])
            }
            if !ids.isEmpty { try bumpGeneration() }
            return ids.count
        }
    }

    // MARK: helpers

    static func value(_ v: Int64?) -> SQLValue { v.map { SQLValue.integer($0) } ?? SQLValue.null }
    static func value(_ v: String?) -> SQLValue { v.map { SQLValue.text($0) } ?? SQLValue.null }

    /// ISO 8601 UTC to the second, as runtime/store/blobs.py now().
    public static func now() -> String { format(Date()) }

    public static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date).replacingOccurrences(of: "Z", with: "+00:00")
    }

    /// A date in the store's format (the inverse of `format`).
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
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

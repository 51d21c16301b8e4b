// Incremental indexing, as runtime/indexing/indexer.py: unchanged photos (same size and modification time,
// with a vector of this model) are skipped, photos that failed before and did not change are not
// retried, the rest are embedded one batch per transaction, and photos gone from the library are
// marked 'deleted' at the end. PhotoKit identifiers survive renames and album moves, so the
// content-hash move detection the folder indexer needs has no counterpart here.
import Foundation

/// What is known about a photo without decoding it.
public struct PhotoStat: Equatable {
    public var path: String  // PhotoKit local identifier on a phone
    public var size: Int64?
    public var mtimeNs: Int64?
    public var width: Int?
    public var height: Int?

    public init(path: String, size: Int64? = nil, mtimeNs: Int64? = nil, width: Int? = nil, height: Int? = nil) {
        self.path = path
        self.size = size
        self.mtimeNs = mtimeNs
        self.width = width
        self.height = height
    }
}

public struct SyncReport: Equatable {
    public var embedded = 0
    public var unchanged = 0
    public var errors = 0
    public var deleted = 0
    public var skippedErrors = 0  // failed before and unchanged since: not retried

    public init() {}
}

public struct LibrarySync {
    public let store: PhotoStore
    public let model: String  // the bundle's model fingerprint

    public init(store: PhotoStore, model: String) {
        self.store = store
        self.model = model
    }

    /// The photos that need embedding, how many are up to date, and the paths that disappeared.
    public func plan(_ current: [PhotoStat]) throws -> (todo: [PhotoStat], report: SyncReport, gone: [String]) {
        var report = SyncReport()
        let rows = Dictionary(try store.photos().map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let withVector = try store.embeddedIDs(model: model)
        var todo: [PhotoStat] = []
        for photo in current {
            if let row = rows[photo.path], row.size == photo.size, row.mtimeNs == photo.mtimeNs {
                if row.status == StoreSchema.Status.error {
                    report.skippedErrors += 1
                    continue
                }
                if row.status == StoreSchema.Status.ok, let id = row.id, withVector.contains(id) {
                    report.unchanged += 1
                    continue
                }
            }
            todo.append(photo)
        }
        let present = Set(current.map(\.path))
        let gone = rows.values.filter { !present.contains($0.path) && $0.status != StoreSchema.Status.deleted }.map(\.path)
        return (todo, report, gone.sorted())
    }

    /// Brings the store up to date with `current`; `embed` turns a batch of photos into rows with
    /// vectors (or with status 'error' and the reason). Each batch is one transaction.
    public func run(_ current: [PhotoStat], batchSize: Int = 32,
                    embed: ([PhotoStat]) async throws -> [IndexedPhoto]) async throws -> SyncReport {
        let planned = try plan(current)
        var report = planned.report
        var start = 0
        while start < planned.todo.count {
            let batch = Array(planned.todo[start ..< min(start + batchSize, planned.todo.count)])
            start += batch.count
            let rows = try await embed(batch)
            try store.write(rows, model: model)
            report.embedded += rows.filter { $0.vector != nil && $0.record.status == StoreSchema.Status.ok }.count
            report.errors += rows.filter { $0.record.status == StoreSchema.Status.error }.count
        }
        try store.markDeleted(paths: planned.gone)
        report.deleted = planned.gone.count
        return report
    }
}

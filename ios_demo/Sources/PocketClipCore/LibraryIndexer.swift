// Incremental, resumable indexing by the rules of docs/conformance.md, as runtime/indexing/indexer.py: the same
// scenario files drive both (ConformanceTest). The app gives a PhotoSource and a PhotoEmbedder; binding, meta,
// batches, codes, error kinds, tombstones, restores, the deletion guards, the purge, the quarantine and the facts
// are here.
import Foundation

public struct SyncReport: Equatable {
    public var embedded = 0
    public var unchanged = 0
    public var moved = 0
    public var touched = 0
    public var errors = 0
    public var deleted = 0
    public var skippedErrors = 0  // failed before and unchanged since: not retried
    public var restored = 0
    public var withheld = 0  // gone, but not marked deleted: most of the library, or limited access (R13, R14)
    public var purged = 0  // tombstones older than the retention, removed (R19)
    public var factsFilled = 0  // unchanged photos whose facts a migrated store lacked, read and written (R22)

    public init() {}
}

/// The library cannot be indexed now (gone, unreadable, emptied) while the store holds its photos (R12).
public struct RootUnavailable: Error, CustomStringConvertible {
    public let description: String
}

public struct IndexOptions {
    public var batchSize = 16
    public var allowEmpty = false
    public var retryErrors = false

    public init(batchSize: Int = 16, allowEmpty: Bool = false, retryErrors: Bool = false) {
        self.batchSize = batchSize
        self.allowEmpty = allowEmpty
        self.retryErrors = retryErrors
    }
}

public struct LibraryIndexer {
    public static let maxDeletedShare = 0.5  // R13: at most this share of the library marked deleted in one run ...
    public static let deletionGuardFrom = 4  // ... once it holds this many 'ok' photos
    public static let tombstoneDays = 30  // R19
    public static let quarantineStrikes = 2  // R20
    public static let crashed = "the photo crashed the decoder"

    public let store: PhotoStore
    public let model: String
    public let books: Codebooks?
    public let clock: () -> String

    public init(store: PhotoStore, model: String, books: Codebooks?, clock: @escaping () -> String = PhotoStore.now) {
        self.store = store
        self.model = model
        self.books = books
        self.clock = clock
    }

    private struct Job {
        var photo: PhotoStat
        var digest: String?
        var rowID: Int64?
        var error: String?
    }

    public func run(_ source: PhotoSource, _ embedder: PhotoEmbedder, options: IndexOptions = IndexOptions(),
                    progress: (Int, Int) -> Void = { _, _ in }, log: (String) -> Void = { _ in }) throws -> SyncReport {
        precondition(options.batchSize >= 1, "batch size must be at least 1")
        var report = SyncReport()
        let files = try source.list()
        let all = try store.photos()
        let rows = Dictionary(all.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        try checkRoot(source, files, all, allowEmpty: options.allowEmpty)
        let withVector = try store.embeddedIDs(model: model)
        let present = Set(files.map(\.path))
        let vanished = all.filter { !present.contains($0.path) }
        var reusable = reusableRows(vanished, withVector)
        let suspects = try decoding()
        var todo: [Job] = []
        var reused = Set<Int64>()
        for photo in files {
            let row = rows[photo.path]
            let sameStat = row.map { $0.size == photo.size && $0.mtimeNs == photo.mtimeNs } ?? false
            if let row, sameStat, row.status == StoreSchema.Status.error, !options.retryErrors,
               !(row.error ?? "").hasPrefix(PhotoFailure.unavailablePrefix) {
                report.skippedErrors += 1
                continue
            }
            // R22: an indexed photo whose facts were never read (a store migrated from schema version 1) is read
            let needsFacts = row.map { $0.status == StoreSchema.Status.ok && withVector.contains($0.id ?? -1) &&
                $0.facts.takenSource == nil } ?? false
            if let row, sameStat, row.status == StoreSchema.Status.ok, let id = row.id, withVector.contains(id), !needsFacts {
                report.unchanged += 1
                continue
            }
            let digest: String
            do {
                digest = try source.contentHash(photo)
            } catch let failure as PhotoFailure {
                if let row, row.status == StoreSchema.Status.ok, let id = row.id, withVector.contains(id) {
                    report.errors += 1  // R11: an indexed photo keeps its row and vector while it cannot be read
                    log("skipping \(photo.path): \(failure)")
                } else {
                    todo.append(Job(photo: photo, digest: nil, rowID: row?.id, error: failure.description))
                }
                continue
            }
            if let row, let id = row.id, row.contentHash == digest, withVector.contains(id) {
                let back = row.status == StoreSchema.Status.deleted
                let facts = needsFacts ? self.facts(source, photo, log) : nil  // R21: otherwise kept
                try store.updatePhoto(id: id, path: photo.path, size: photo.size, mtimeNs: photo.mtimeNs,
                                      indexedAt: back ? clock() : nil, facts: facts)
                if back {
                    report.restored += 1
                } else if facts != nil && sameStat {
                    report.factsFilled += 1
                } else {
                    report.touched += 1
                }
            } else if row == nil, let found = reusable.removeValue(forKey: digest), let id = found.id {
                reused.insert(id)
                let back = found.status == StoreSchema.Status.deleted
                try store.updatePhoto(id: id, path: photo.path, size: photo.size, mtimeNs: photo.mtimeNs,
                                      indexedAt: back ? clock() : nil)
                if back { report.restored += 1 } else { report.moved += 1 }
            } else {
                let strikes = suspects[photo.path] ?? 0
                todo.append(Job(photo: photo, digest: digest, rowID: row?.id,
                                error: strikes >= Self.quarantineStrikes ? Self.crashed : nil))
            }
        }
        // R20: photos recorded when a run died are decoded first, one at a time.
        let isAlone = { (job: Job) in job.error == nil && suspects[job.photo.path] != nil }
        var batches = todo.filter(isAlone).map { [$0] }
        let rest = todo.filter { !isAlone($0) }
        var start = 0
        while start < rest.count {
            batches.append(Array(rest[start ..< min(start + options.batchSize, rest.count)]))
            start += options.batchSize
        }
        var done = 0
        progress(done, todo.count)
        for batch in batches {
            try record(batch, suspects)
            try write(batch, source, embedder, &report, log)
            done += batch.count
            progress(done, todo.count)
        }
        if try store.meta()[StoreSchema.MetaKey.decoding] != nil { try store.recordDecoding(nil) }
        let gone = vanished.filter { $0.status != StoreSchema.Status.deleted && !reused.contains($0.id ?? -1) }
        try markDeleted(gone, all, partial: source.partial, allowEmpty: options.allowEmpty, &report)
        let now = PhotoStore.parse(clock()) ?? Date()
        report.purged = try store.purgeTombstones(
            before: PhotoStore.format(now.addingTimeInterval(-Double(Self.tombstoneDays) * 86_400)))
        return report
    }

    /// The photo's facts from the source, or nil when it cannot give them now (the row then waits for them).
    private func facts(_ source: PhotoSource, _ photo: PhotoStat, _ log: (String) -> Void) -> PhotoFacts? {
        do {
            return try source.facts(photo)
        } catch {
            log("no facts for \(photo.path): \(error)")
            return nil
        }
    }

    /// Rows a new path may take over by content hash (R5, R7): vanished 'ok' rows before tombstones, lowest id first.
    private func reusableRows(_ vanished: [PhotoRecord], _ withVector: Set<Int64>) -> [String: PhotoRecord] {
        var found: [String: PhotoRecord] = [:]
        let ordered = vanished.sorted {
            ($0.status == StoreSchema.Status.ok ? 0 : 1, $0.id ?? 0) < ($1.status == StoreSchema.Status.ok ? 0 : 1, $1.id ?? 0)
        }
        for row in ordered where row.status == StoreSchema.Status.ok || row.status == StoreSchema.Status.deleted {
            if let hash = row.contentHash, !hash.isEmpty, let id = row.id, withVector.contains(id), found[hash] == nil {
                found[hash] = row
            }
        }
        return found
    }

    /// Meta `decoding`: the photos of batches being decoded when a run died, with their strikes.
    private func decoding() throws -> [String: Int] {
        guard let text = try store.meta()[StoreSchema.MetaKey.decoding],
              case .object(let members)? = try? PythonJSON.parse(Data(text.utf8)) else { return [:] }
        var out: [String: Int] = [:]
        for (path, value) in members { if case .number(let literal) = value, let n = Int(literal) { out[path] = n } }
        return out
    }

    private func encodeDecoding(_ marked: [String: Int]) -> String? {
        marked.isEmpty ? nil : PythonJSON.dumpsSorted(.object(marked.mapValues { JSONValue.number(String($0)) }))
    }

    private func record(_ batch: [Job], _ suspects: [String: Int]) throws {
        var marked = try decoding()
        for job in batch where job.error == nil { marked[job.photo.path] = (suspects[job.photo.path] ?? 0) + 1 }
        if !marked.isEmpty { try store.recordDecoding(encodeDecoding(marked)) }
    }

    private func checkRoot(_ source: PhotoSource, _ files: [PhotoStat], _ rows: [PhotoRecord], allowEmpty: Bool) throws {
        if allowEmpty { return }
        let ok = rows.filter { $0.status == StoreSchema.Status.ok }.count
        guard let problem = source.rootProblem(files) else { return }
        if problem.hasPrefix("holds no photo") && ok == 0 { return }
        if ok > 0 {
            throw RootUnavailable(description: "\(source.root) \(problem), and the store holds \(ok) photos from it; "
                + "nothing was changed (allow it to mark them deleted: their vectors are kept)")
        }
        throw RootUnavailable(description: "\(source.root) \(problem)")
    }

    private func write(_ batch: [Job], _ source: PhotoSource, _ embedder: PhotoEmbedder, _ report: inout SyncReport,
                       _ log: (String) -> Void) throws {
        var decoded: [(Job, Result<DecodedPhoto, PhotoFailure>)] = []
        for job in batch {
            if let error = job.error {
                decoded.append((job, .failure(.content(error))))
                continue
            }
            do {
                decoded.append((job, .success(try source.decode(job.photo))))
            } catch let failure as PhotoFailure {
                decoded.append((job, .failure(failure)))
            }
        }
        let ok = decoded.compactMap { job, result -> (Job, DecodedPhoto)? in
            if case .success(let photo) = result { return (job, photo) } else { return nil }
        }
        let vectors: [[Float]] = try ok.isEmpty ? [] : embedder.embed(
            ok.map { (path: $0.0.photo.path, hash: $0.0.digest ?? "") }, ok.map { $0.1 })
        var byPath: [String: [Float]] = [:]
        for ((job, _), vector) in zip(ok, vectors) { byPath[job.photo.path] = vector }
        let stamp = clock()
        let records = decoded.map { job, result -> IndexedPhoto in
            let photo = job.photo
            switch result {
            case .success(let image):
                let vector = byPath[photo.path]!
                report.embedded += 1
                return IndexedPhoto(record: PhotoRecord(id: job.rowID, path: photo.path, size: photo.size,
                                                        mtimeNs: photo.mtimeNs, contentHash: job.digest, width: image.width,
                                                        height: image.height, indexedAt: stamp,
                                                        facts: image.facts ?? self.facts(source, photo, log) ?? .empty),
                                    vector: vector, pqCode: books?.encode(Float16Codec.decode(Float16Codec.encode(vector))))
            case .failure(let failure):
                report.errors += 1
                log("skipping \(photo.path): \(failure)")
                return IndexedPhoto(record: PhotoRecord(id: job.rowID, path: photo.path, size: photo.size,
                                                        mtimeNs: photo.mtimeNs, contentHash: job.digest,
                                                        status: StoreSchema.Status.error, error: failure.description,
                                                        indexedAt: stamp), vector: nil)
            }
        }
        let paths = Set(batch.map(\.photo.path))
        let left = try decoding().filter { !paths.contains($0.key) }
        try store.write(records, model: model, decoding: encodeDecoding(left))
    }

    /// R6, with the guards of R13 (most of the library) and R14 (limited access).
    private func markDeleted(_ gone: [PhotoRecord], _ rows: [PhotoRecord], partial: Bool, allowEmpty: Bool,
                             _ report: inout SyncReport) throws {
        let ok = rows.filter { $0.status == StoreSchema.Status.ok }.count
        let tooMany = ok >= Self.deletionGuardFrom && Double(gone.count) > Self.maxDeletedShare * Double(ok)
        if !gone.isEmpty && !allowEmpty && (partial || tooMany) {
            report.withheld = gone.count
            return
        }
        try store.markDeleted(ids: gone.compactMap(\.id), stamp: clock())
        report.deleted += gone.count
    }
}

// Everything off the main thread: the bundle's CoreML towers, the tokenizer, the store, and the
// in-memory index the searches run over (float16 vectors decoded once, PQ codes when the bundle has them).
// The exact/PQ switch point, the candidates re-ranked and the default k are the bundle's (manifest "search").
import CoreML
import Foundation
import Photos
import PocketClipCore
import PocketClipCoreML

struct Hit: Identifiable, Equatable, Sendable {
    let path: String  // the photo's PhotoKit local identifier
    let score: Float
    var id: String { path }
}

actor PhotoEngine {
    let manifest: Manifest
    private let store: PhotoStore
    private let tokenizer: ClipTokenizer
    private let imageTower: CoreMLTower
    private let textTower: CoreMLTower
    private let codebooks: Codebooks?
    private var index: StoredVectors?

    /// Opens the bundle (every file it uses checked against its sha256) and the store bound to its model.
    init(bundle: URL, storeURL: URL) async throws {
        let manifest = try Manifest.load(bundle: bundle)
        // The most compressed precision the bundle has both CoreML towers in (each met its bar at export).
        let precisions = ["palettized-6", "int8", "fp16"].filter { p in
            manifest.artifacts.contains { $0.format == "mlpackage" && $0.precision == p && $0.tower == "image" }
                && manifest.artifacts.contains { $0.format == "mlpackage" && $0.precision == p && $0.tower == "text" }
        }
        guard let precision = precisions.first else {
            throw BundleError.noArtifact("the bundle has no CoreML (.mlpackage) towers; export with --formats mlpackage")
        }
        let imageTower = try await CoreMLTower.load(manifest, tower: "image", precision: precision)
        let textTower = try await CoreMLTower.load(manifest, tower: "text", precision: precision)
        let codebooks = try manifest.pq.map { _ in try Codebooks(manifest: manifest) }
        let store = try PhotoStore(path: storeURL.path)
        self.manifest = manifest
        self.imageTower = imageTower
        self.textTower = textTower
        self.tokenizer = try ClipTokenizer(manifest: manifest)
        self.codebooks = codebooks
        self.store = store
        try store.bind(manifest, reindex: true)  // a new model re-embeds the library rather than mixing vectors
        try store.bindCodebooks(codebooks, sha256: manifest.pq?.sha256, model: manifest.model.fingerprint)
        try store.rememberSource(root: "photokit://library", bundle: manifest.model.name, backend: "mlpackage",
                                 precision: precision)
    }

    /// Brings the store up to date with the library's current assets; returns what changed.
    func sync(_ assets: [PHAsset]) async throws -> SyncReport {
        let byID = Dictionary(assets.map { ($0.localIdentifier, $0) }, uniquingKeysWith: { first, _ in first })
        let stats = assets.map { asset in
            PhotoStat(path: asset.localIdentifier, mtimeNs: asset.modificationDate.map { Int64($0.timeIntervalSince1970 * 1e9) },
                      width: asset.pixelWidth, height: asset.pixelHeight)
        }
        let sync = LibrarySync(store: store, model: manifest.model.fingerprint)
        let report = try await sync.run(stats, batchSize: min(imageTower.maxBatch, 32)) { batch in
            try await self.embed(batch, assets: byID)
        }
        if report.embedded + report.deleted > 0 { index = nil }  // reloaded on the next search
        return report
    }

    /// One batch: each photo decoded and preprocessed (or recorded with its error), then one CoreML call.
    private func embed(_ batch: [PhotoStat], assets: [String: PHAsset]) async throws -> [IndexedPhoto] {
        let spec = manifest.preprocess
        var rows: [IndexedPhoto] = []
        var pixels: [[Float]] = []
        var decodedRows: [Int] = []
        for stat in batch {
            var record = PhotoRecord(path: stat.path, size: stat.size, mtimeNs: stat.mtimeNs, width: stat.width, height: stat.height)
            do {
                guard let asset = assets[stat.path] else { throw PhotoLoadError.missing }
                let (data, orientation) = try await PhotoLoader.imageData(for: asset)
                let limit = ImageDecoding.draftLimit(width: asset.pixelWidth, height: asset.pixelHeight, size: spec.size)
                let decoded = try ImageDecoding.decode(data: data, maxPixelSize: limit)
                pixels.append(Preprocess.pixels(decoded.pixels, exifOrientation: orientation, spec: spec))
                decodedRows.append(rows.count)
                rows.append(IndexedPhoto(record: record, vector: nil))
            } catch {
                record.status = StoreSchema.Status.error
                record.error = "\(error)"
                rows.append(IndexedPhoto(record: record, vector: nil))
            }
        }
        var vectors: [[Float]] = []
        if !pixels.isEmpty { vectors = try imageTower.encodeImages(pixels, size: spec.size) }
        for (row, vector) in zip(decodedRows, vectors) {
            rows[row].vector = vector
            // Codes are made from the vector as stored (float16), like the Python indexer's.
            rows[row].pqCode = codebooks?.encode(Float16Codec.decode(Float16Codec.encode(vector)))
        }
        return rows
    }

    /// The k best photos for a text; k defaults to the bundle's search.default_k.
    func searchText(_ text: String, k: Int? = nil) throws -> [Hit] {
        let query = try textTower.encodeTexts([tokenizer.tokenize(text)])[0]
        return try search(query, k: k ?? manifest.search.defaultK)
    }

    /// Photos like a photo already in the index: its stored vector is the query.
    func searchSimilar(to path: String, k: Int? = nil) throws -> [Hit] {
        let index = try loadedIndex()
        guard let row = index.paths.firstIndex(of: path) else { return [] }
        return try search(Array(index.matrix.row(row)), k: k ?? manifest.search.defaultK)
    }

    var photoCount: Int {
        get throws { try loadedIndex().ids.count }
    }

    private func search(_ query: [Float], k: Int) throws -> [Hit] {
        let index = try loadedIndex()
        let settings = manifest.search
        let found: [(index: Int, score: Float)]
        // Exact below search.exact_below_photos; from there on PQ candidates + exact re-rank, when there are codes.
        if let codebooks, let codes = index.codes,
           settings.usesPQ(photos: index.ids.count, hasCodes: codes.codeBytes == codebooks.codeBytes) {
            found = ProductQuantization.search(codebooks, codes: codes, query: query, k: k, vectors: index.matrix,
                                               candidates: settings.rerankCandidates)
        } else {
            found = Search.exact(index.matrix, query: query, k: k)
        }
        return found.map { Hit(path: index.paths[$0.index], score: $0.score) }
    }

    private func loadedIndex() throws -> StoredVectors {
        if let index { return index }
        let loaded = try store.vectors(model: manifest.model.fingerprint)
        index = loaded
        return loaded
    }
}

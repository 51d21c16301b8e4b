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
    private let precision: String
    /// What searches run on: every vector for a small library, ids and codes alone (CodeIndex) for a large one.
    private enum SearchIndex {
        case exact(StoredVectors)
        case codes(CodeIndex)
    }

    private var index: SearchIndex?

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
        self.precision = precision
    }

    /// The offline places the photos' positions resolve to (runtime/facts/places.tsv.gz, a resource of the app, the
    /// file the desktop reads), read on the first index run (~1 s).
    private lazy var places: Places? = Bundle.main.url(forResource: "places", withExtension: "tsv.gz")
        .flatMap { try? Places(gzipped: Data(contentsOf: $0)) }

    /// Brings the store up to date with the library's current assets; returns what changed. Binding, meta, batches,
    /// codes, error kinds, tombstones and the deletion guards are the core's (LibraryIndexer, docs/conformance.md).
    func sync(_ assets: [PHAsset], limited: Bool) throws -> SyncReport {
        let binding = try Binding.of(manifest, root: PhotoKitLibrary.root, bundle: manifest.root.path,
                                     backend: "mlpackage", precision: precision)
        let retry: Bool
        do {
            retry = try bindStore(store, binding)
        } catch StoreError.modelMismatch {  // the user imported another model: re-index, never mix two models
            retry = try bindStore(store, binding, reindex: true)
        }
        let library = PhotoKitLibrary(assets: assets, partial: limited, size: manifest.preprocess.size,
                                      spec: manifest.preprocess, places: places)
        let report = try LibraryIndexer(store: store, model: manifest.model.fingerprint, books: codebooks)
            .run(library, TowerEmbedder(tower: imageTower, size: manifest.preprocess.size),
                 options: IndexOptions(batchSize: min(imageTower.maxBatch, 32), retryErrors: retry))
        if report.embedded + report.deleted + report.moved + report.restored > 0 { index = nil }  // reloaded on the next search
        return report
    }

    /// The k best photos for a text; k defaults to the bundle's search.default_k.
    func searchText(_ text: String, k: Int? = nil) throws -> [Hit] {
        let query = try textTower.encodeTexts([tokenizer.tokenize(text)])[0]
        return try search(query, k: k ?? manifest.search.defaultK)
    }

    /// Photos like a photo already in the index: its stored vector is the query.
    func searchSimilar(to path: String, k: Int? = nil) throws -> [Hit] {
        let model = manifest.model.fingerprint
        guard let id = try store.photos().first(where: { $0.path == path && $0.status == StoreSchema.Status.ok })?.id,
              let vector = try store.vectors(model: model, ids: [id])[id] else { return [] }
        return try search(vector, k: k ?? manifest.search.defaultK)
    }

    var photoCount: Int {
        get throws { try store.searchableCount(model: manifest.model.fingerprint) }
    }

    private func search(_ query: [Float], k: Int) throws -> [Hit] {
        switch try loadedIndex() {
        case .exact(let vectors):
            return Search.exact(vectors.matrix, query: query, k: k).map { Hit(path: vectors.paths[$0.index], score: $0.score) }
        case .codes(let codes):
            return try codes.search(query, k: k, candidates: manifest.search.rerankCandidates).map { hit in
                Hit(path: try store.path(of: hit.id) ?? "", score: hit.score)
            }
        }
    }

    /// Exact below search.exact_below_photos; from there on the codes, when every photo has one of these codebooks.
    private func loadedIndex() throws -> SearchIndex {
        if let index { return index }
        let model = manifest.model.fingerprint
        let photos = try store.searchableCount(model: model)
        let hasCodes = try store.meta()[StoreSchema.MetaKey.pqCodebooksSha256] == manifest.pq?.sha256
            && store.codedIDs().count >= photos
        let loaded: SearchIndex
        if let codebooks, manifest.search.usesPQ(photos: photos, hasCodes: hasCodes) {
            loaded = .codes(try CodeIndex(store: store, model: model, codebooks: codebooks))
        } else {
            loaded = .exact(try store.vectors(model: model))
        }
        index = loaded
        return loaded
    }
}

/// PhotoKit as the core's PhotoSource: a photo is its local identifier; its stat the resource's file size and the
/// asset's modification date; its bytes the current version's, read from the device only.
struct PhotoKitLibrary: PhotoSource {
    static let root = "photokit://library"
    let assets: [String: PHAsset]
    let partial: Bool
    let size: Int
    let spec: PreprocessSpec
    let places: Places?
    var root: String { Self.root }

    init(assets: [PHAsset], partial: Bool, size: Int, spec: PreprocessSpec, places: Places?) {
        self.assets = Dictionary(assets.map { ($0.localIdentifier, $0) }, uniquingKeysWith: { first, _ in first })
        self.partial = partial
        self.size = size
        self.spec = spec
        self.places = places
    }

    func list() throws -> [PhotoStat] {
        assets.values.map { asset in
            let bytes = PHAssetResource.assetResources(for: asset).first.flatMap { $0.value(forKey: "fileSize") as? Int64 }
            return PhotoStat(path: asset.localIdentifier, size: bytes ?? 0,
                             mtimeNs: Int64((asset.modificationDate ?? asset.creationDate ?? .distantPast).timeIntervalSince1970 * 1e9))
        }.sorted { $0.path < $1.path }
    }

    private func asset(_ photo: PhotoStat) throws -> PHAsset {
        guard let asset = assets[photo.path] else { throw PhotoFailure.unavailable("the photo is no longer in the library") }
        return asset
    }

    func contentHash(_ photo: PhotoStat) throws -> String {
        Blake2b.contentHash(try PhotoLoader.imageData(for: try asset(photo)).0)
    }

    func decode(_ photo: PhotoStat) throws -> DecodedPhoto {
        let (data, orientation) = try PhotoLoader.imageData(for: try asset(photo))
        let (decoded, width, height) = try ImageDecoding.bounded(data: data, size: size)
        return DecodedPhoto(pixels: Preprocess.pixels(decoded.pixels, exifOrientation: orientation, spec: spec),
                            width: width, height: height, facts: facts(photo, data))
    }

    /// The core's PhotoFacts of the current version's bytes (the desktop's reader and rules, HEIC's Exif item
    /// included), read from the device only; the file time is the asset's modification date.
    func facts(_ photo: PhotoStat) throws -> PhotoFacts {
        facts(photo, try PhotoLoader.imageData(for: try asset(photo)).0)
    }

    private func facts(_ photo: PhotoStat, _ data: Data) -> PhotoFacts {
        PhotoFacts.read(data, mtimeNs: photo.mtimeNs, raw: PhotoFacts.isRaw(photo.path), places: places)
    }
}

/// The CoreML image tower as the core's PhotoEmbedder.
struct TowerEmbedder: PhotoEmbedder {
    let tower: CoreMLTower
    let size: Int

    func embed(_ photos: [(path: String, hash: String)], _ decoded: [DecodedPhoto]) throws -> [[Float]] {
        try tower.encodeImages(decoded.map(\.pixels), size: size)
    }
}

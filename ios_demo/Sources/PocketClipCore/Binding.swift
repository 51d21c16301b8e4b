// Binding a store to what indexes it (runtime/indexing/binding.py; docs/conformance.md R15-R17).
import Foundation

/// What a bundle brings to a store, and where it runs: the library's name, the bundle's place, the backend.
public struct Binding {
    public var fingerprint: String
    public var dim: Int
    public var preprocessSha256: String
    public var precision: String
    public var books: Codebooks?
    public var booksSha256: String?
    public var root: String
    public var bundle: String
    public var backend: String

    public init(fingerprint: String, dim: Int, preprocessSha256: String, precision: String, books: Codebooks?,
                booksSha256: String?, root: String, bundle: String, backend: String) {
        self.fingerprint = fingerprint
        self.dim = dim
        self.preprocessSha256 = preprocessSha256
        self.precision = precision
        self.books = books
        self.booksSha256 = booksSha256
        self.root = root
        self.bundle = bundle
        self.backend = backend
    }

    /// The binding of a bundle's artifact run by `backend` at `precision`, for the library `root`.
    public static func of(_ manifest: Manifest, root: String, bundle: String, backend: String,
                          precision: String) throws -> Binding {
        Binding(fingerprint: manifest.model.fingerprint, dim: manifest.model.embedDim,
                preprocessSha256: manifest.preprocessSha256, precision: precision,
                books: try manifest.pq.map { _ in try Codebooks(manifest: manifest) }, booksSha256: manifest.pq?.sha256,
                root: root, bundle: bundle, backend: backend)
    }
}

/// Bind the store (R15), record the run's meta (R16) and make every stored code one of the binding's codebooks
/// (R17). StoreError.modelMismatch for another model, preprocessing, dim or precision unless `reindex`; a store of
/// another library is refused. Returns whether the photos that failed before are to be tried again: the model,
/// the bundle or the backend changed.
@discardableResult
public func bindStore(_ store: PhotoStore, _ binding: Binding, reindex: Bool = false) throws -> Bool {
    let before = try store.meta()
    if let root = before[StoreSchema.MetaKey.root], !root.isEmpty, root != binding.root {
        throw StoreError.other("the store indexes \(root), not \(binding.root)")
    }
    try store.bindModel(fingerprint: binding.fingerprint, dim: binding.dim, preprocessSha256: binding.preprocessSha256,
                        precision: binding.precision, reindex: reindex)
    let nowBound = [(StoreSchema.MetaKey.root, binding.root), (StoreSchema.MetaKey.bundle, binding.bundle),
                    (StoreSchema.MetaKey.backend, binding.backend)]
    try store.setMeta(nowBound)
    try store.bindCodebooks(binding.books, sha256: binding.booksSha256, model: binding.fingerprint)
    let changed = nowBound.contains { key, value in before[key] != nil && before[key] != value }
    let fingerprint = before[StoreSchema.MetaKey.modelFingerprint]
    return changed || (fingerprint != nil && fingerprint != binding.fingerprint)
}

// Binding a store to what indexes it (runtime/indexing/binding.py; docs/conformance.md R15-R17).
package org.pocketclip.core

/** What a bundle brings to a store, and where it runs: the library's name, the bundle's place, the backend. */
data class Binding(
    val fingerprint: String, val dim: Int, val preprocessSha256: String, val precision: String,
    val pq: ProductQuantizer?, val pqSha256: String?, val root: String, val bundle: String, val backend: String,
) {
    companion object {
        /** The binding of a bundle's artifact run by `backend` at `precision`, for the library `root`. */
        fun of(manifest: Manifest, root: String, bundle: String, backend: String, precision: String): Binding =
            Binding(manifest.fingerprint, manifest.embedDim, manifest.preprocessSha256, precision,
                ProductQuantizer.fromBundle(manifest), manifest.pq?.sha256, root, bundle, backend)
    }
}

/**
 * Bind the store (R15), record the run's meta (R16) and make every stored code one of the binding's codebooks
 * (R17). ModelMismatch for another model, preprocessing, dim or precision unless `reindex`; StoreError for a
 * store of another library. Returns whether the photos that failed before are to be tried again: the model,
 * the bundle or the backend changed.
 */
fun bindStore(store: EmbeddingStore, binding: Binding, reindex: Boolean = false): Boolean {
    val before = store.meta()
    val root = before[StoreSchema.Meta.ROOT]
    if (!root.isNullOrEmpty() && root != binding.root) throw StoreError("the store indexes $root, not ${binding.root}")
    store.bindModel(binding.fingerprint, binding.dim, binding.preprocessSha256, binding.precision, reindex)
    val nowBound = mapOf(StoreSchema.Meta.ROOT to binding.root, StoreSchema.Meta.BUNDLE to binding.bundle,
        StoreSchema.Meta.BACKEND to binding.backend)
    store.db.transaction { nowBound.forEach { (key, value) -> store.putMeta(key, value) } }
    store.bindCodebooks(binding.pq, binding.pqSha256, binding.fingerprint)
    return nowBound.any { (key, value) -> before[key] != null && before[key] != value } ||
        (before[StoreSchema.Meta.MODEL_FINGERPRINT] != null && before[StoreSchema.Meta.MODEL_FINGERPRINT] != binding.fingerprint)
}

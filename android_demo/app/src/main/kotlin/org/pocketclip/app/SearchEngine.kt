// Text-to-image and image-to-image search over the store: exact float32 dot products for a phone-sized
// library, PQ codes then an exact re-rank when it is large (as runtime/search/pq_index.py chooses). The switch point,
// the number of candidates re-ranked and the default k are the bundle's (manifest.json "search").
package org.pocketclip.app

import android.content.Context
import android.net.Uri
import org.pocketclip.core.ClipTokenizer
import org.pocketclip.core.EmbeddingStore
import org.pocketclip.core.Manifest
import org.pocketclip.core.ProductQuantizer
import org.pocketclip.core.Scored
import org.pocketclip.core.Search
import org.pocketclip.core.StoreSchema
import org.pocketclip.core.StoredVectors

data class Hit(val path: String, val score: Float, val uri: Uri?)

class SearchEngine(private val context: Context) : AutoCloseable {
    private val manifest: Manifest = BundleFiles.load(context)
    private val store: EmbeddingStore = StoreFiles.open(context)
    private val tokenizer by lazy { ClipTokenizer.fromBundle(manifest) }
    private val textTowerLoad = lazy { Towers.open(manifest, "text") }
    private val imageTowerLoad = lazy { Towers.open(manifest, "image") }
    private val textTower by textTowerLoad
    private val imageTower by imageTowerLoad
    private val pq: ProductQuantizer? by lazy { ProductQuantizer.fromBundle(manifest) }
    private var vectors: StoredVectors? = null
    private var codes: ByteArray? = null
    private var uris: Map<String, Uri> = emptyMap()
    private val settings get() = manifest.search

    /** Reload the vectors (after indexing); cheap enough for a phone library, once per search session. */
    @Synchronized
    fun reload() {
        val loaded = store.vectors(manifest.fingerprint)
        vectors = loaded
        val books = pq
        // Codes count only when every photo has one, made with this bundle's codebooks.
        val hasCodes = books != null && loaded.pqCodes.all { it?.size == books.codeBytes } &&
            store.meta()[StoreSchema.Meta.PQ_CODEBOOKS_SHA256] == manifest.pq?.sha256
        codes = if (books != null && settings.usesPq(loaded.size, hasCodes)) {
            ProductQuantizer.columnMajor(loaded.pqCodes.map { it!! }, books.codeBytes)
        } else null
        uris = PhotoLibrary(context).list().associate { it.stat.path to it.uri }
    }

    @Synchronized
    fun searchText(query: String, k: Int = settings.defaultK): List<Hit> =
        rank(textTower.embedIds(listOf(tokenizer.tokenize(query)))[0], k)

    @Synchronized
    fun searchPhoto(uri: Uri, k: Int = settings.defaultK): List<Hit> =
        rank(imageTower.embedPixels(listOf(PhotoDecoder.load(context.contentResolver, uri, manifest.preprocess).pixels))[0], k)

    private fun rank(query: FloatArray, k: Int): List<Hit> {
        if (vectors == null) reload()
        val v = vectors!!
        val q = Search.normalised(query)
        val hits: List<Scored> = codes?.let { pq!!.search(it, v.size, q, k, v.matrix, settings.rerankCandidates) }
            ?: Search.cosineTopK(v.matrix, v.dim, q, k)
        return hits.map { Hit(v.paths[it.index], it.score, uris[v.paths[it.index]]) }
    }

    @Synchronized // after a search in flight: ExecuTorch refuses to destroy a module mid-forward
    override fun close() {
        for (load in listOf(textTowerLoad, imageTowerLoad)) if (load.isInitialized()) load.value.close()
    }
}

// Text-to-image and image-to-image search over the store: exact float32 dot products for a small library, and
// from the codes when it is large (the core's CodeIndex: ids and PQ codes in memory, only the candidates' vectors
// read from SQLite; as runtime/search/pq_index.py chooses). The switch point, the number of candidates re-ranked
// and the default k are the bundle's (manifest.json "search").
package org.pocketclip.app

import android.content.Context
import android.net.Uri
import org.pocketclip.core.ClipTokenizer
import org.pocketclip.core.CodeIndex
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
    private var codeIndex: CodeIndex? = null
    private var uris: Map<String, Uri> = emptyMap()
    private val settings get() = manifest.search

    /** Reload the index (after indexing): the codes alone when the library is large, else its vectors. */
    @Synchronized
    fun reload() {
        val books = pq
        val photos = store.searchableCount(manifest.fingerprint)
        // Codes count only when every photo has one, made with this bundle's codebooks.
        val hasCodes = books != null && store.meta()[StoreSchema.Meta.PQ_CODEBOOKS_SHA256] == manifest.pq?.sha256 &&
            store.idsWithCode().size >= photos
        if (books != null && settings.usesPq(photos, hasCodes)) {
            codeIndex = CodeIndex.load(store, manifest.fingerprint, books)
            vectors = null
        } else {
            vectors = store.vectors(manifest.fingerprint)
            codeIndex = null
        }
        uris = PhotoLibrary(context, manifest.preprocess).let { library -> library.list().associate { it.path to library.uri(it.path)!! } }
    }

    @Synchronized
    fun searchText(query: String, k: Int = settings.defaultK): List<Hit> =
        rank(textTower.embedIds(listOf(tokenizer.tokenize(query)))[0], k)

    @Synchronized
    fun searchPhoto(uri: Uri, k: Int = settings.defaultK): List<Hit> =
        rank(imageTower.embedPixels(listOf(PhotoDecoder.load(context.contentResolver, uri, manifest.preprocess).pixels))[0], k)

    private fun rank(query: FloatArray, k: Int): List<Hit> {
        if (vectors == null && codeIndex == null) reload()
        val q = Search.normalised(query)
        codeIndex?.let { index ->
            return index.search(q, k, settings.rerankCandidates).map { hit ->
                val path = store.pathOf(hit.id) ?: ""
                Hit(path, hit.score, uris[path])
            }
        }
        val v = vectors!!
        val hits: List<Scored> = Search.cosineTopK(v.matrix, v.dim, q, k)
        return hits.map { Hit(v.paths[it.index], it.score, uris[v.paths[it.index]]) }
    }

    @Synchronized // after a search in flight: ExecuTorch refuses to destroy a module mid-forward
    override fun close() {
        for (load in listOf(textTowerLoad, imageTowerLoad)) if (load.isInitialized()) load.value.close()
    }
}

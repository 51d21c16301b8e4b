// What the indexer needs from a platform (runtime/indexing/source.py): the photo list, each photo's content
// hash, decoded pixels and facts, and an encoder. The app gives MediaStore and its towers; the conformance runner
// a virtual gallery and the reference's vectors. The indexing rules themselves are LibraryIndexer's.
package org.pocketclip.core

/** A photo as the library lists it (MediaStore on Android, a folder walk elsewhere). */
data class PhotoStat(val path: String, val size: Long, val mtimeNs: Long)

/**
 * A photo decoded to the image tower's input (pixels as the manifest's preprocessing makes them), with its facts
 * when the source read them from the same bytes (else the indexer asks PhotoSource.facts).
 */
class DecodedPhoto(val pixels: FloatArray, val width: Int, val height: Int, val facts: PhotoFacts? = null)

/** One photo's failure, the reason as one line: its content (R10) unless it is a PhotoUnavailable. */
open class PhotoFailure(message: String) : Exception(message)

/** The photo could not be had now (permission, I/O, vanished, only in the cloud): retried every run (R11). */
class PhotoUnavailable(reason: String) : PhotoFailure(UNAVAILABLE + reason) {
    companion object {
        const val UNAVAILABLE = "unavailable: "
    }
}

interface PhotoSource {
    /** What meta `root` records: the library's name. */
    val root: String

    /** Only part of the library is visible (Android's selected photos, iOS's limited library): R14. */
    val partial: Boolean

    /** The photos, sorted by path. */
    fun list(): List<PhotoStat>

    /** Why the library cannot be indexed at all (gone, unreadable, empty), or null (R12). */
    fun rootProblem(photos: List<PhotoStat>): String? = if (photos.isEmpty()) "holds no photo file" else null

    /** Blake2b.contentHash of the photo's bytes; PhotoFailure when it cannot be read. */
    fun contentHash(photo: PhotoStat): String

    /** The photo decoded within the memory bound; PhotoFailure for the content or the environment. */
    fun decode(photo: PhotoStat): DecodedPhoto

    /**
     * What the photo says about itself (PhotoFacts.read of its bytes, R21), without decoding it: for an embedded
     * photo whose decode did not carry them, and for a row whose facts were never read (R22). PhotoFailure when it
     * cannot be read.
     */
    fun facts(photo: PhotoStat): PhotoFacts
}

/** The image tower: (path, content hash) and decoded pixels of a batch -> one L2-normalised vector each. */
fun interface PhotoEmbedder {
    fun embed(photos: List<Pair<String, String>>, decoded: List<DecodedPhoto>): List<FloatArray>
}

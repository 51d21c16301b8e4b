// The phone's photos as MediaStore lists them: store paths ("DCIM/Camera/IMG_1.jpg"), stats and content URIs.
package org.pocketclip.app

import android.Manifest.permission
import android.content.ContentUris
import android.content.Context
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.provider.MediaStore
import org.pocketclip.core.Blake2b
import org.pocketclip.core.DecodedPhoto
import org.pocketclip.core.PhotoFacts
import org.pocketclip.core.PhotoFailure
import org.pocketclip.core.PhotoSource
import org.pocketclip.core.PhotoStat
import org.pocketclip.core.PhotoUnavailable
import org.pocketclip.core.Places
import org.pocketclip.core.PreprocessSpec
import java.io.ByteArrayOutputStream
import java.io.FileNotFoundException
import java.io.IOException
import java.io.InputStream

data class LibraryPhoto(val stat: PhotoStat, val uri: Uri, val mimeType: String?)

/**
 * The phone's photo library as the core's PhotoSource: MediaStore lists the photos, the content hash is the
 * core's BLAKE2b of the bytes (the same function of the same bytes as on desktop and iOS), decoding is
 * PhotoDecoder's, bounded before any pixel. Partial access ("selected photos") is reported to the core, which
 * then marks nothing deleted (docs/conformance.md, R14).
 */
class PhotoLibrary(private val context: Context, private val spec: PreprocessSpec) : PhotoSource {
    companion object {
        /**
         * What to ask for: READ_MEDIA_IMAGES from Android 13, plus READ_MEDIA_VISUAL_USER_SELECTED from 14 (the
         * manifest declares it, so the system offers "selected photos" and grants only that one), else READ_EXTERNAL_STORAGE.
         */
        val PERMISSIONS: Array<String> = when {
            Build.VERSION.SDK_INT >= Build.VERSION_CODES.UPSIDE_DOWN_CAKE ->
                arrayOf(permission.READ_MEDIA_IMAGES, permission.READ_MEDIA_VISUAL_USER_SELECTED)
            Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU -> arrayOf(permission.READ_MEDIA_IMAGES)
            else -> arrayOf(permission.READ_EXTERNAL_STORAGE)
        }

        /**
         * Asked with the photos: without ACCESS_MEDIA_LOCATION, MediaStore hands every photo over with its GPS
         * position removed, and the facts (R21) would have none.
         */
        val REQUESTED: Array<String> = PERMISSIONS + permission.ACCESS_MEDIA_LOCATION

        /** A photo's bytes read for its facts: all of them up to this, else its first this many (EXIF is near the start). */
        private const val MAX_FACTS_BYTES = 64 shl 20

        @Volatile private var shipped: Places? = null

        /** The offline places, an asset copied from runtime/facts/places.tsv.gz by the build; read once (~1 s). */
        fun places(context: Context): Places = shipped ?: synchronized(this) {
            shipped ?: context.assets.open("places.tsv.gz").use { Places.read(it) }.also { shipped = it }
        }

        private fun granted(context: Context, name: String) =
            context.checkSelfPermission(name) == PackageManager.PERMISSION_GRANTED

        /** Full or partial (user-selected) access: without either, MediaStore lists no photos at all. */
        fun hasAccess(context: Context): Boolean = PERMISSIONS.any { granted(context, it) }

        /** "Selected photos" only: Android 14's READ_MEDIA_VISUAL_USER_SELECTED without READ_MEDIA_IMAGES. */
        fun partialAccess(context: Context): Boolean = Build.VERSION.SDK_INT >= Build.VERSION_CODES.UPSIDE_DOWN_CAKE &&
            !granted(context, permission.READ_MEDIA_IMAGES) && granted(context, permission.READ_MEDIA_VISUAL_USER_SELECTED)
    }

    private val collection: Uri = MediaStore.Images.Media.getContentUri(MediaStore.VOLUME_EXTERNAL)
    private val byPath = HashMap<String, LibraryPhoto>()

    override val root: String = "MediaStore:${MediaStore.VOLUME_EXTERNAL}"
    override val partial: Boolean get() = partialAccess(context)

    /** Every image, sorted by path; the store's `path` is RELATIVE_PATH + DISPLAY_NAME ('/'-separated). */
    override fun list(): List<PhotoStat> {
        val projection = arrayOf(MediaStore.Images.Media._ID, MediaStore.Images.Media.RELATIVE_PATH,
            MediaStore.Images.Media.DISPLAY_NAME, MediaStore.Images.Media.SIZE, MediaStore.Images.Media.DATE_MODIFIED,
            MediaStore.Images.Media.MIME_TYPE, MediaStore.MediaColumns.IS_PENDING)
        byPath.clear()
        context.contentResolver.query(collection, projection, null, null, null)?.use { c ->
            while (c.moveToNext()) {
                if (c.getInt(6) != 0) continue // still being written by its app: listed once it is complete
                val id = c.getLong(0)
                val path = (c.getString(1) ?: "") + (c.getString(2) ?: "$id")
                // DATE_MODIFIED is in seconds; the store keeps nanoseconds like os.stat's st_mtime_ns.
                byPath[path] = LibraryPhoto(PhotoStat(path, c.getLong(3), c.getLong(4) * 1_000_000_000L),
                    ContentUris.withAppendedId(collection, id), c.getString(5))
            }
        }
        return byPath.values.map { it.stat }.sortedBy { it.path }
    }

    fun uri(path: String): Uri? = byPath[path]?.uri

    override fun contentHash(photo: PhotoStat): String = reading(photo) { found ->
        context.contentResolver.openInputStream(found.uri)?.use { Blake2b.contentHash(it) }
            ?: throw PhotoUnavailable("cannot be opened")
    }

    override fun decode(photo: PhotoStat): DecodedPhoto = reading(photo) { found ->
        PhotoDecoder.load(context.contentResolver, found.uri, spec, found.mimeType)
    }

    /**
     * The core's PhotoFacts of the photo's original bytes (the same reader and rules as the desktop's; HEIC's Exif
     * item included). Without ACCESS_MEDIA_LOCATION the redacted bytes: no position.
     */
    override fun facts(photo: PhotoStat): PhotoFacts = reading(photo) { found ->
        val uri = if (granted(context, permission.ACCESS_MEDIA_LOCATION)) MediaStore.setRequireOriginal(found.uri) else found.uri
        val bytes = context.contentResolver.openInputStream(uri)?.use { head(it, MAX_FACTS_BYTES) }
            ?: throw PhotoUnavailable("cannot be opened")
        PhotoFacts.read(bytes, photo.mtimeNs, PhotoFacts.isRaw(photo.path), places(context))
    }

    private fun head(stream: InputStream, limit: Int): ByteArray {
        val out = ByteArrayOutputStream()
        val buffer = ByteArray(1 shl 16)
        while (out.size() < limit) {
            val n = stream.read(buffer, 0, minOf(buffer.size, limit - out.size()))
            if (n <= 0) break
            out.write(buffer, 0, n)
        }
        return out.toByteArray()
    }

    /** `read` on the listed photo, its failures named by kind: what the environment refused is PhotoUnavailable
     *  (tried again next run), what the decoder refused is the content's (R10, R11). */
    private fun <T> reading(photo: PhotoStat, read: (LibraryPhoto) -> T): T {
        val found = byPath[photo.path] ?: throw PhotoUnavailable("the photo vanished")
        return try {
            read(found)
        } catch (e: SecurityException) {
            throw PhotoUnavailable("permission denied")
        } catch (e: FileNotFoundException) {
            throw PhotoUnavailable("the photo vanished")
        } catch (e: IOException) {
            throw PhotoUnavailable("I/O error: ${e.message}")
        } catch (e: PhotoFailure) {
            throw e
        } catch (e: RuntimeException) { // a decoder's own failure on this content
            throw PhotoFailure("cannot decode: ${e.message ?: e.javaClass.simpleName}")
        }
    }
}

// The phone's photos as MediaStore lists them: store paths ("DCIM/Camera/IMG_1.jpg"), stats and content URIs.
package org.pocketclip.app

import android.Manifest.permission
import android.content.ContentUris
import android.content.Context
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.provider.MediaStore
import org.pocketclip.core.PhotoStat
import java.security.MessageDigest

data class LibraryPhoto(val stat: PhotoStat, val uri: Uri, val mimeType: String?)

class PhotoLibrary(private val context: Context) {
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

        /** Full or partial (user-selected) access: without either, MediaStore lists no photos at all. */
        fun hasAccess(context: Context): Boolean =
            PERMISSIONS.any { context.checkSelfPermission(it) == PackageManager.PERMISSION_GRANTED }
    }

    private val collection: Uri = MediaStore.Images.Media.getContentUri(MediaStore.VOLUME_EXTERNAL)

    /** Every image, sorted by path; the store's `path` is RELATIVE_PATH + DISPLAY_NAME ('/'-separated). */
    fun list(): List<LibraryPhoto> {
        val projection = arrayOf(MediaStore.Images.Media._ID, MediaStore.Images.Media.RELATIVE_PATH,
            MediaStore.Images.Media.DISPLAY_NAME, MediaStore.Images.Media.SIZE, MediaStore.Images.Media.DATE_MODIFIED,
            MediaStore.Images.Media.MIME_TYPE)
        val photos = ArrayList<LibraryPhoto>()
        context.contentResolver.query(collection, projection, null, null, null)?.use { c ->
            while (c.moveToNext()) {
                val id = c.getLong(0)
                val path = (c.getString(1) ?: "") + (c.getString(2) ?: "$id")
                // DATE_MODIFIED is in seconds; the store keeps nanoseconds like os.stat's st_mtime_ns.
                photos.add(LibraryPhoto(PhotoStat(path, c.getLong(3), c.getLong(4) * 1_000_000_000L),
                    ContentUris.withAppendedId(collection, id), c.getString(5)))
            }
        }
        return photos.sortedBy { it.stat.path }
    }

    /**
     * Content identity that tells a move from a new photo. The Python indexer uses blake2b-128; here
     * sha256 cut to the same 32 hex digits (the JDK has no blake2b): hashes only ever meet hashes of the same store.
     */
    fun contentHash(uri: Uri): String? = try {
        val digest = MessageDigest.getInstance("SHA-256")
        context.contentResolver.openInputStream(uri)?.use { input ->
            val block = ByteArray(1 shl 16)
            while (true) {
                val n = input.read(block)
                if (n < 0) break
                digest.update(block, 0, n)
            }
        } ?: return null
        digest.digest().joinToString("") { "%02x".format(it) }.take(32)
    } catch (e: Exception) {
        null // unreadable: decoding records the reason
    }
}

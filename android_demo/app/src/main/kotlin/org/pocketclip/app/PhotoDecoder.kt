// A photo (content URI) -> the image tower's input, per the manifest: platform decode, EXIF orientation,
// then the core's Pillow-exact preprocessing.
package org.pocketclip.app

import android.content.ContentResolver
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import androidx.exifinterface.media.ExifInterface
import org.pocketclip.core.PreprocessSpec
import org.pocketclip.core.Preprocess
import org.pocketclip.core.RgbaImage

class DecodeError(message: String) : Exception(message)

data class DecodedPhoto(val pixels: FloatArray, val width: Int, val height: Int)

object PhotoDecoder {
    private const val DRAFT_FACTOR = 2 // as runtime/photos.py: a reduced decode keeps the shorter side >= 2x size

    fun load(resolver: ContentResolver, uri: Uri, spec: PreprocessSpec, mimeType: String? = null): DecodedPhoto {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, bounds) } ?: throw DecodeError("cannot open")
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) throw DecodeError("not an image Android can read")
        val options = BitmapFactory.Options().apply {
            inPreferredConfig = Bitmap.Config.ARGB_8888
            inPremultiplied = false // Pillow flattens straight alpha
            inSampleSize = sampleSize(bounds.outWidth, bounds.outHeight, spec.size, (mimeType ?: bounds.outMimeType) == "image/jpeg")
        }
        val bitmap = resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, options) }
            ?: throw DecodeError("cannot decode")
        try {
            val argb = IntArray(bitmap.width * bitmap.height)
            bitmap.getPixels(argb, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height)
            val image = RgbaImage.fromArgb(bitmap.width, bitmap.height, argb, bitmap.hasAlpha())
            val orientation = orientation(resolver, uri)
            return DecodedPhoto(Preprocess.run(image, orientation, spec), bounds.outWidth, bounds.outHeight)
        } finally {
            bitmap.recycle()
        }
    }

    /** JPEGs much larger than the model input decode at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling), like Pillow's draft. */
    fun sampleSize(width: Int, height: Int, size: Int, jpeg: Boolean): Int {
        if (!jpeg) return 1
        val scale = minOf(width, height).toDouble() / (DRAFT_FACTOR * size)
        var sample = 1
        while (sample < 8 && scale >= sample * 2) sample *= 2
        return sample
    }

    fun orientation(resolver: ContentResolver, uri: Uri): Int = try {
        resolver.openInputStream(uri)?.use { ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, 1) } ?: 1
    } catch (e: Exception) {
        1
    }
}

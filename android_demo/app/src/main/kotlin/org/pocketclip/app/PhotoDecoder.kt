// A photo (content URI) -> the image tower's input, per the manifest: platform decode, EXIF orientation,
// then the core's Pillow-exact preprocessing.
package org.pocketclip.app

import android.content.ContentResolver
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import androidx.exifinterface.media.ExifInterface
import org.pocketclip.core.DecodedPhoto
import org.pocketclip.core.PhotoFailure
import org.pocketclip.core.PreprocessSpec
import org.pocketclip.core.Preprocess
import org.pocketclip.core.RgbaImage

object PhotoDecoder {
    private const val DRAFT_FACTOR = 2 // as runtime/indexing/decode.py: a reduced decode keeps the shorter side >= 2x size
    // Pillow's Image.MAX_IMAGE_PIXELS, past which runtime/indexing/decode.py refuses a photo (and a full decode here runs out of memory).
    private const val MAX_PIXELS = 1024L * 1024 * 1024 / 4 / 3
    // A non-JPEG decodes at full size on the desktop (its pixels are the reference's); on a phone it is sampled
    // down past this (~64 MB as ARGB_8888), so one photo never takes the process's heap.
    private const val MAX_DECODED = 16_000_000L

    fun load(resolver: ContentResolver, uri: Uri, spec: PreprocessSpec, mimeType: String? = null): DecodedPhoto {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        // With inJustDecodeBounds decodeStream always returns null (it only fills `bounds`): a null stream is the error.
        val opened = resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, bounds); true }
        if (opened != true) throw PhotoFailure("cannot open")
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) throw PhotoFailure("not an image Android can read")
        val pixels = bounds.outWidth.toLong() * bounds.outHeight
        if (pixels > MAX_PIXELS) throw PhotoFailure("decompression bomb refused ($pixels pixels > $MAX_PIXELS)")
        val options = BitmapFactory.Options().apply {
            inPreferredConfig = Bitmap.Config.ARGB_8888
            inPremultiplied = false // Pillow flattens straight alpha
            // The sniffed format first (Pillow drafts by image.format), MediaStore's extension-based MIME type as a
            // fallback. Every other format is bounded too: a decoded bitmap never holds more than MAX_DECODED pixels.
            val jpeg = (bounds.outMimeType ?: mimeType) == "image/jpeg"
            inSampleSize = maxOf(sampleSize(bounds.outWidth, bounds.outHeight, spec.size, jpeg),
                boundedSampleSize(bounds.outWidth, bounds.outHeight))
        }
        val bitmap = resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, options) }
            ?: throw PhotoFailure("cannot decode")
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

    /**
     * JPEGs much larger than the model input decode at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling), with
     * the factor Pillow's draft picks for runtime/indexing/decode.py's requested size (int(side / scale) + 1).
     */
    fun sampleSize(width: Int, height: Int, size: Int, jpeg: Boolean): Int {
        if (!jpeg) return 1
        val scale = minOf(width, height).toDouble() / (DRAFT_FACTOR * size)
        if (scale < 2) return 1
        // JpegImageFile.draft: scale = min(w // req_w, h // req_h), then the largest of 8, 4, 2, 1 not above it.
        val fit = minOf(width / ((width / scale).toInt() + 1), height / ((height / scale).toInt() + 1))
        return intArrayOf(8, 4, 2, 1).firstOrNull { fit >= it } ?: 1
    }

    /** The smallest power-of-two sample size that keeps a decoded bitmap within MAX_DECODED pixels (any format). */
    fun boundedSampleSize(width: Int, height: Int): Int {
        var sample = 1
        while (width.toLong() / sample * (height.toLong() / sample) > MAX_DECODED) sample *= 2
        return sample
    }

    fun orientation(resolver: ContentResolver, uri: Uri): Int = try {
        resolver.openInputStream(uri)?.use { ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, 1) } ?: 1
    } catch (e: Exception) {
        1
    }
}

// Photo -> image-tower input, as runtime/bundle/preprocess.py: EXIF orientation, alpha flattened onto the
// background, shorter side resized with Pillow's filter, centre crop, (x/255 - mean)/std, CHW float32.
package org.pocketclip.core

/** 8-bit RGB pixels, row-major, 3 bytes a pixel. */
class RgbImage(val width: Int, val height: Int, val rgb: ByteArray) {
    init { require(rgb.size == width * height * 3) { "RGB buffer of ${rgb.size} bytes for $width x $height" } }
}

/** A decoded photo as the platform decoder gives it: 8-bit RGBA, row-major, straight (not premultiplied) alpha. */
class RgbaImage(val width: Int, val height: Int, val rgba: ByteArray, val hasAlpha: Boolean) {
    init { require(rgba.size == width * height * 4) { "RGBA buffer of ${rgba.size} bytes for $width x $height" } }

    companion object {
        /** From packed ARGB ints (Android Bitmap.getPixels, java.awt BufferedImage.getRGB). */
        fun fromArgb(width: Int, height: Int, argb: IntArray, hasAlpha: Boolean): RgbaImage {
            val out = ByteArray(width * height * 4)
            for (i in argb.indices) {
                val p = argb[i]
                out[4 * i] = (p ushr 16).toByte(); out[4 * i + 1] = (p ushr 8).toByte()
                out[4 * i + 2] = p.toByte(); out[4 * i + 3] = (p ushr 24).toByte()
            }
            return RgbaImage(width, height, out, hasAlpha)
        }
    }
}

object Preprocess {
    /** ImageOps.exif_transpose: orientation 1..8 -> the upright image. */
    fun applyOrientation(image: RgbaImage, orientation: Int): RgbaImage {
        val w = image.width
        val h = image.height
        val swap = orientation in 5..8
        val outW = if (swap) h else w
        val outH = if (swap) w else h
        if (orientation !in 2..8) return image
        val out = ByteArray(image.rgba.size)
        for (y in 0 until outH) for (x in 0 until outW) {
            val (sx, sy) = when (orientation) {
                2 -> (w - 1 - x) to y          // FLIP_LEFT_RIGHT
                3 -> (w - 1 - x) to (h - 1 - y) // ROTATE_180
                4 -> x to (h - 1 - y)          // FLIP_TOP_BOTTOM
                5 -> y to x                    // TRANSPOSE
                6 -> y to (h - 1 - x)          // ROTATE_270 (90 degrees clockwise)
                7 -> (w - 1 - y) to (h - 1 - x) // TRANSVERSE
                else -> (w - 1 - y) to x       // 8: ROTATE_90 (counter-clockwise)
            }
            System.arraycopy(image.rgba, (sy * w + sx) * 4, out, (y * outW + x) * 4, 4)
        }
        return RgbaImage(outW, outH, out, image.hasAlpha)
    }

    /** Drop alpha: Pillow's paste with the alpha mask onto `background` (its DIV255 rounding). */
    fun flatten(image: RgbaImage, background: IntArray): RgbImage {
        val n = image.width * image.height
        val out = ByteArray(n * 3)
        for (i in 0 until n) {
            val a = if (image.hasAlpha) image.rgba[4 * i + 3].toInt() and 0xff else 255
            for (c in 0 until 3) {
                val fg = image.rgba[4 * i + c].toInt() and 0xff
                val tmp = background[c] * (255 - a) + fg * a + 128
                out[3 * i + c] = (((tmp shr 8) + tmp) shr 8).toByte()
            }
        }
        return RgbImage(image.width, image.height, out)
    }

    /** Scale the shorter side to `size` (aspect kept, Python's round-half-even), take the centred square. */
    fun resizeAndCrop(image: RgbImage, size: Int, resample: String = "bicubic"): RgbImage {
        val scale = size.toDouble() / minOf(image.width, image.height)
        val newW = maxOf(size, Math.rint(image.width * scale).toInt())
        val newH = maxOf(size, Math.rint(image.height * scale).toInt())
        val resized = PillowResize.resize(image, newW, newH, resample)
        val left = Math.rint((newW - size) / 2.0).toInt()
        val top = Math.rint((newH - size) / 2.0).toInt()
        val out = ByteArray(size * size * 3)
        for (y in 0 until size) System.arraycopy(resized.rgb, ((top + y) * newW + left) * 3, out, y * size * 3, size * 3)
        return RgbImage(size, size, out)
    }

    /** (H, W, 3) uint8 -> (3, H, W) float32 (x / 255 - mean) / std, in float32 arithmetic as numpy. */
    fun normalise(square: RgbImage, mean: FloatArray, std: FloatArray): FloatArray {
        val plane = square.width * square.height
        val out = FloatArray(3 * plane)
        for (i in 0 until plane) for (c in 0 until 3) {
            val x = (square.rgb[3 * i + c].toInt() and 0xff).toFloat() / 255f
            out[c * plane + i] = (x - mean[c]) / std[c]
        }
        return out
    }

    /** A decoded photo and its EXIF orientation -> (3, size, size) float32, per the manifest's spec. */
    fun run(image: RgbaImage, orientation: Int, spec: PreprocessSpec): FloatArray {
        require(spec.resize == "shortest_side" && spec.crop == "center" && spec.layout == "NCHW" && spec.channelOrder == "RGB") {
            "preprocessing ${spec.resize}/${spec.crop}/${spec.layout}/${spec.channelOrder} is not supported"
        }
        val upright = if (spec.exifTranspose) applyOrientation(image, orientation) else image
        val square = resizeAndCrop(flatten(upright, spec.background), spec.size, spec.resample)
        return normalise(square, spec.mean, spec.std)
    }
}

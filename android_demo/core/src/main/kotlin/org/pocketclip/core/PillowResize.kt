// Pillow's resize (libImaging/Resample.c) for 8-bit RGB: separable convolution, horizontal pass then
// vertical (Pillow 13: vertical first when the height loses more than twice as many pixels as the
// width, see the manifest's resize_passes), filter support widened by the downscale factor
// (antialiasing), 22-bit fixed-point weights and uint8 rounding between the passes.
// Hand-written: Android's Bitmap.createScaledBitmap and java.awt scale with other kernels, and the
// manifest's contract is Pillow's numbers to within one level.
package org.pocketclip.core

import kotlin.math.ceil

object PillowResize {
    private const val PRECISION_BITS = 32 - 8 - 2

    private class Filter(val support: Double, val weight: (Double) -> Double)

    private val FILTERS = mapOf(
        "bicubic" to Filter(2.0) { v ->
            val x = if (v < 0.0) -v else v
            val a = -0.5
            when {
                x < 1.0 -> ((a + 2.0) * x - (a + 3.0)) * x * x + 1
                x < 2.0 -> (((x - 5) * x + 8) * x - 4) * a
                else -> 0.0
            }
        },
        "bilinear" to Filter(1.0) { v -> val x = if (v < 0.0) -v else v; if (x < 1.0) 1.0 - x else 0.0 },
    )

    /** Per output pixel: first input index, count, and fixed-point weights (ksize per pixel). */
    private class Coefficients(val bounds: IntArray, val ksize: Int, val weights: IntArray)

    private fun coefficients(inSize: Int, outSize: Int, filter: Filter): Coefficients {
        val scale = inSize.toDouble() / outSize
        val filterScale = if (scale < 1.0) 1.0 else scale
        val support = filter.support * filterScale
        val ksize = ceil(support).toInt() * 2 + 1
        val bounds = IntArray(outSize * 2)
        val weights = IntArray(outSize * ksize)
        val k = DoubleArray(ksize)
        for (xx in 0 until outSize) {
            val center = (xx + 0.5) * scale
            val ss = 1.0 / filterScale
            val xmin = maxOf((center - support + 0.5).toInt(), 0) // C's (int) truncation, as Pillow
            val xmax = minOf((center + support + 0.5).toInt(), inSize) - xmin
            var ww = 0.0
            for (x in 0 until xmax) {
                val w = filter.weight((x + xmin - center + 0.5) * ss)
                k[x] = w
                ww += w
            }
            for (x in 0 until ksize) {
                val w = if (x < xmax) (if (ww != 0.0) k[x] / ww else k[x]) else 0.0
                weights[xx * ksize + x] = if (w < 0) (-0.5 + w * (1 shl PRECISION_BITS)).toInt()
                else (0.5 + w * (1 shl PRECISION_BITS)).toInt()
            }
            bounds[xx * 2] = xmin
            bounds[xx * 2 + 1] = xmax
        }
        return Coefficients(bounds, ksize, weights)
    }

    private fun clip8(ss: Int): Int {
        val v = ss shr PRECISION_BITS
        return if (v < 0) 0 else if (v > 255) 255 else v
    }

    /** Resize an RGB image to (outW, outH) exactly as Pillow's Image.resize(size, filter). */
    fun resize(src: RgbImage, outW: Int, outH: Int, resample: String = "bicubic"): RgbImage {
        val filter = FILTERS[resample] ?: throw IllegalArgumentException("resample $resample: supported ${FILTERS.keys}")
        if (outW == src.width && outH == src.height) return src
        if (outW != src.width && outH < src.height && src.height - outH > 2 * (src.width - outW)) {
            return resize(resize(src, src.width, outH, resample), outW, outH, resample) // vertical pass first
        }
        val vert = coefficients(src.height, outH, filter)
        val yFirst = vert.bounds[0]
        val yLast = vert.bounds[outH * 2 - 2] + vert.bounds[outH * 2 - 1]
        var image = src
        var rowOffset = 0
        if (outW != src.width) { // horizontal pass over the rows the vertical pass will read
            val horiz = coefficients(src.width, outW, filter)
            val rows = yLast - yFirst
            val out = ByteArray(outW * rows * 3)
            for (yy in 0 until rows) {
                val inRow = (yy + yFirst) * src.width * 3
                for (xx in 0 until outW) {
                    val xmin = horiz.bounds[xx * 2]
                    val xmax = horiz.bounds[xx * 2 + 1]
                    val kOff = xx * horiz.ksize
                    var s0 = 1 shl (PRECISION_BITS - 1); var s1 = s0; var s2 = s0
                    for (x in 0 until xmax) {
                        val p = inRow + (x + xmin) * 3
                        val w = horiz.weights[kOff + x]
                        s0 += (src.rgb[p].toInt() and 0xff) * w
                        s1 += (src.rgb[p + 1].toInt() and 0xff) * w
                        s2 += (src.rgb[p + 2].toInt() and 0xff) * w
                    }
                    val o = (yy * outW + xx) * 3
                    out[o] = clip8(s0).toByte(); out[o + 1] = clip8(s1).toByte(); out[o + 2] = clip8(s2).toByte()
                }
            }
            image = RgbImage(outW, rows, out)
            rowOffset = yFirst
        }
        if (outH == src.height) return image
        val out = ByteArray(image.width * outH * 3)
        for (yy in 0 until outH) {
            val ymin = vert.bounds[yy * 2] - rowOffset
            val ymax = vert.bounds[yy * 2 + 1]
            val kOff = yy * vert.ksize
            for (xx in 0 until image.width) {
                var s0 = 1 shl (PRECISION_BITS - 1); var s1 = s0; var s2 = s0
                for (y in 0 until ymax) {
                    val p = ((y + ymin) * image.width + xx) * 3
                    val w = vert.weights[kOff + y]
                    s0 += (image.rgb[p].toInt() and 0xff) * w
                    s1 += (image.rgb[p + 1].toInt() and 0xff) * w
                    s2 += (image.rgb[p + 2].toInt() and 0xff) * w
                }
                val o = (yy * image.width + xx) * 3
                out[o] = clip8(s0).toByte(); out[o + 1] = clip8(s1).toByte(); out[o + 2] = clip8(s2).toByte()
            }
        }
        return RgbImage(image.width, outH, out)
    }
}

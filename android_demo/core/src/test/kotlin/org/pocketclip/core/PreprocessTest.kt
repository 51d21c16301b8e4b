package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import kotlin.math.abs

class PreprocessTest {
    private val spec get() = TestInputs.manifest.preprocess
    private val levelScale get() = 1f / 255f / spec.std.min() // one uint8 level after normalisation

    private fun maxDiff(a: FloatArray, b: FloatArray): Float {
        assertEquals(a.size, b.size)
        return a.indices.maxOf { abs(a[it] - b[it]) }
    }

    @Test
    fun pngGoldenImageWithinOneLevel() {
        val golden = TestInputs.golden
        val pngs = golden.images.withIndex().filter { it.value.endsWith(".png") }
        assertTrue(pngs.isNotEmpty(), "the golden set has a PNG: ${golden.images}")
        var verticalFirst = 0
        for ((index, name) in pngs) {
            val decoded = ImageIoDecode.decode(golden.file(name))
            if (index == pngs.first().index) {
                assertTrue(decoded.hasAlpha, "the golden PNG has transparency, flattened onto the background")
            }
            val scale = spec.size.toDouble() / minOf(decoded.width, decoded.height)
            val outW = maxOf(spec.size, Math.round(decoded.width * scale).toInt())
            val outH = maxOf(spec.size, Math.round(decoded.height * scale).toInt())
            if (decoded.height - outH > 2 * (decoded.width - outW)) verticalFirst++
            val diff = maxDiff(Preprocess.run(decoded, 1, spec), golden.row(golden.array("pixels.npy"), index))
            println("preprocess: PNG $name ${decoded.width}x${decoded.height} max abs diff $diff (${diff / levelScale} levels)")
            assertTrue(diff <= levelScale, "$name: max abs diff $diff > one level $levelScale")
        }
        assertEquals(1, verticalFirst, "one golden PNG is resized vertically first by Pillow")
    }

    @Test
    fun gallerySquaresNormaliseExactly() {
        val golden = TestInputs.golden
        val squares = golden.array("gallery_squares.npy")
        val bytes = squares.bytes()
        val s = spec.size
        val pixels = golden.galleryPixels()
        assertEquals(squares.shape[0], pixels.size)
        var worst = 0.0
        pixels.forEachIndexed { g, chw ->
            for (c in 0 until 3) for (i in 0 until s * s) {
                val v = bytes[(g * s * s + i) * 3 + c].toInt() and 0xff
                val python = (v / 255.0 - spec.mean[c]) / spec.std[c] // runtime.preprocess.normalise
                worst = maxOf(worst, abs(chw[c * s * s + i] - python))
            }
        }
        println("preprocess: gallery normalisation max abs diff $worst")
        assertTrue(worst <= 1e-6, "normalisation differs by $worst")
    }

    @Test
    fun jpegGoldenImagesReportDiff() {
        val golden = TestInputs.golden
        val pixels = golden.array("pixels.npy")
        val jpegs = golden.images.withIndex().filter { it.value.endsWith(".jpg") || it.value.endsWith(".jpeg") }
        assertTrue(jpegs.isNotEmpty())
        var rotated = 0
        for ((i, name) in jpegs) {
            val file = golden.file(name)
            val orientation = ExifOrientation.ofJpeg(file.readBytes())
            val decoded = ImageIoDecode.decode(file)
            val upright = Preprocess.applyOrientation(decoded, orientation)
            val expected = golden.row(pixels, i)
            val got = Preprocess.run(decoded, orientation, spec)
            assertEquals(3 * spec.size * spec.size, got.size)
            val diff = maxDiff(got, expected)
            println("preprocess: JPEG $name orientation $orientation, decoded ${decoded.width}x${decoded.height}, " +
                "upright ${upright.width}x${upright.height}, max abs diff $diff (${diff / levelScale} levels)")
            if (orientation != 1) {
                rotated++
                assertTrue(upright.width > upright.height, "$name: upright the golden photo is landscape")
                val ignored = maxDiff(Preprocess.run(decoded, 1, spec), expected)
                assertTrue(ignored > 10 * levelScale, "$name: ignoring the orientation should not match ($ignored)")
            }
            assertTrue(diff <= 3 * levelScale, "$name: max abs diff $diff > 3 levels")
        }
        assertEquals(1, rotated, "the golden set has one JPEG with an EXIF rotation")
    }

    @Test
    fun orientationAndFlatteningFollowPillow() {
        // 2x1 RGBA: an opaque red pixel, then a half-transparent blue one over white.
        val rgba = intArrayOf(255, 0, 0, 255, 0, 0, 255, 128).map { it.toByte() }.toByteArray()
        val image = RgbaImage(2, 1, rgba, hasAlpha = true)
        val background = intArrayOf(255, 255, 255)
        val flat = Preprocess.flatten(image, background)
        assertEquals(listOf(255, 0, 0, 127, 127, 255), flat.rgb.map { it.toInt() and 0xff }) // Pillow: DIV255(255 * 127 + 0 * 128) = 127
        // Pillow's exif_transpose comes before flattening (Preprocess.run's order); the bytes are the same either way.
        val turned = Preprocess.flatten(Preprocess.applyOrientation(image, 6), background) // 90 degrees clockwise: 1 wide, 2 tall
        assertEquals(listOf(1, 2), listOf(turned.width, turned.height))
        assertEquals(listOf(255, 0, 0, 127, 127, 255), turned.rgb.map { it.toInt() and 0xff })
        val mirrored = Preprocess.flatten(Preprocess.applyOrientation(image, 2), background)
        assertEquals(listOf(127, 127, 255, 255, 0, 0), mirrored.rgb.map { it.toInt() and 0xff })
    }
}

// On a device: the bundle's golden inputs through every artifact the app runs, checked against the
// fp32 references, and written as the device report `pocketclip parity BUNDLE --device-report` reads.
package org.pocketclip.app

import android.graphics.BitmapFactory
import android.os.Build
import android.util.Log
import androidx.exifinterface.media.ExifInterface
import androidx.test.ext.junit.runners.AndroidJUnit4
import androidx.test.platform.app.InstrumentationRegistry
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.pocketclip.core.ArtifactRun
import org.pocketclip.core.BundleHashes
import org.pocketclip.core.ClipTokenizer
import org.pocketclip.core.DeviceReport
import org.pocketclip.core.Golden
import org.pocketclip.core.Preprocess
import org.pocketclip.core.RgbaImage
import java.io.File
import kotlin.math.abs
import kotlin.math.sqrt

@RunWith(AndroidJUnit4::class)
class GoldenDeviceReportTest {
    private val context = InstrumentationRegistry.getInstrumentation().targetContext
    private val manifest = BundleFiles.load(context)
    private val golden = Golden(manifest)

    private fun rows(name: String): List<LongArray> {
        val a = golden.array(name)
        val all = a.longs()
        return (0 until a.shape[0]).map { all.copyOfRange(it * a.shape[1], (it + 1) * a.shape[1]) }
    }

    private fun cosine(a: FloatArray, b: FloatArray): Double {
        var ab = 0.0; var aa = 0.0; var bb = 0.0
        for (i in a.indices) { ab += a[i] * b[i].toDouble(); aa += a[i] * a[i].toDouble(); bb += b[i] * b[i].toDouble() }
        return ab / sqrt(aa * bb)
    }

    @Test
    fun writesTheDeviceReport() {
        val pixels = golden.array("pixels.npy").let { a -> (0 until a.shape[0]).map { golden.row(a, it) } }
        val ids = rows("ids.npy")
        val runs = ArrayList<ArtifactRun>()
        val backends = LinkedHashSet<String>()
        for (artifact in manifest.artifacts.filter { it.format in Towers.FORMATS }) {
            val image = artifact.tower == "image"
            Towers.open(manifest, artifact).use { tower ->
                backends += tower.backend
                val timings = ArrayList<Double>()
                val embed = { i: Int ->
                    val start = System.nanoTime()
                    val out = if (image) tower.embedPixels(listOf(pixels[i]))[0] else tower.embedIds(listOf(ids[i]))[0]
                    timings += (System.nanoTime() - start) / 1e6
                    out
                }
                val count = if (image) pixels.size else golden.texts.size
                embed(0) // warm-up, not timed in the report
                timings.clear()
                val vectors = (0 until count).map(embed)
                val gallery = if (image) tower.embedPixels(golden.galleryPixels()) else tower.embedIds(rows("gallery_ids.npy"))
                val reference = golden.array(if (image) "image_embeddings.npy" else "text_embeddings.npy").floatRows()
                val worst = vectors.indices.minOf { cosine(vectors[it], reference[it]) }
                Log.i("pocketclip", "${artifact.file} on ${tower.backend}: cosine min $worst, median ${timings.sorted()[timings.size / 2]} ms")
                if (artifact.precision == "fp32") assertTrue("${artifact.file}: cosine $worst", worst >= 0.99999)
                runs += ArtifactRun(artifact.file, BundleHashes.sha256(manifest.verify(artifact)), artifact.tower, vectors,
                    gallery, timings)
            }
        }
        val out = File(context.getExternalFilesDir(null), "device-report.json")
        DeviceReport.write(out, "${Build.MANUFACTURER} ${Build.MODEL}, Android ${Build.VERSION.RELEASE}",
            backends.joinToString(" + "), manifest.fingerprint, runs)
        Log.i("pocketclip", "device report: $out")
    }

    @Test
    fun tokenizerGivesTheGoldenIds() {
        val tokenizer = ClipTokenizer.fromBundle(manifest)
        golden.texts.zip(rows("ids.npy")).forEach { (text, ids) -> assertArrayEquals(text, ids, tokenizer.tokenize(text)) }
        golden.galleryTexts?.zip(rows("gallery_ids.npy"))?.forEach { (text, ids) -> assertArrayEquals(text, ids, tokenizer.tokenize(text)) }
    }

    @Test
    fun platformDecoderWithinTheBar() {
        val level = 1f / 255f / manifest.preprocess.std.min()
        val pixels = golden.array("pixels.npy")
        golden.images.forEachIndexed { i, name ->
            val file = golden.file(name)
            val bitmap = BitmapFactory.decodeFile(file.path, BitmapFactory.Options().apply { inPremultiplied = false })
            val argb = IntArray(bitmap.width * bitmap.height).also { bitmap.getPixels(it, 0, bitmap.width, 0, 0, bitmap.width, bitmap.height) }
            val orientation = ExifInterface(file.path).getAttributeInt(ExifInterface.TAG_ORIENTATION, 1)
            val got = Preprocess.run(RgbaImage.fromArgb(bitmap.width, bitmap.height, argb, bitmap.hasAlpha()), orientation, manifest.preprocess)
            val expected = golden.row(pixels, i)
            assertEquals(expected.size, got.size)
            val diff = got.indices.maxOf { abs(got[it] - expected[it]) }
            Log.i("pocketclip", "preprocess $name (orientation $orientation): max abs diff ${diff / level} levels")
            assertTrue("$name: ${diff / level} levels", diff <= (if (name.endsWith(".png")) 1 else 3) * level)
        }
    }
}

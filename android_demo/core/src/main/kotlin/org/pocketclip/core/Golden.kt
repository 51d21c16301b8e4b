// The bundle's golden set (runtime/parity/golden.py): inputs and fp32 reference embeddings every platform checks against.
package org.pocketclip.core

import com.google.gson.JsonParser
import java.io.File

class Golden(private val manifest: Manifest) {
    private val index = JsonParser.parseString(file("golden.json").readText()).asJsonObject
    val images: List<String> = index.getAsJsonArray("images").map { it.asString }
    val texts: List<String> = index.getAsJsonArray("texts").map { it.asString }
    val galleryTexts: List<String>? = index.getAsJsonArray("gallery_texts")?.map { it.asString }

    /** golden/NAME, checked against the manifest's sha256. */
    fun file(name: String): File = manifest.verify("${manifest.goldenFolder}/$name")

    fun has(name: String): Boolean = "${manifest.goldenFolder}/$name" in manifest.files

    fun array(name: String): NpyArray = NpyArray.read(file(name))

    /** Row r of an (N, ...) float array, flattened. */
    fun row(array: NpyArray, r: Int): FloatArray {
        val per = array.size / array.shape[0]
        return array.floats().copyOfRange(r * per, (r + 1) * per)
    }

    /** Gallery squares normalised exactly as runtime/parity/golden.py does: the image tower's inputs. */
    fun galleryPixels(): List<FloatArray> {
        val squares = array("gallery_squares.npy")
        val (g, h, w) = Triple(squares.shape[0], squares.shape[1], squares.shape[2])
        val bytes = squares.bytes()
        return (0 until g).map { i ->
            val square = RgbImage(w, h, bytes.copyOfRange(i * h * w * 3, (i + 1) * h * w * 3))
            Preprocess.normalise(square, manifest.preprocess.mean, manifest.preprocess.std)
        }
    }
}

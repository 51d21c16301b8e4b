package org.pocketclip.core

import com.google.gson.GsonBuilder
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File

class ManifestTest {
    private val manifest get() = TestInputs.manifest

    @Test
    fun parsesArtifactsAndPreprocessing() {
        val dim = TestInputs.golden.array("image_embeddings.npy").shape[1]
        assertEquals(dim, manifest.embedDim)
        assertTrue(manifest.fingerprint.matches(Regex("[0-9a-f]{64}")))
        for (tower in listOf("image", "text")) {
            val pte = manifest.artifact(tower, "pte", "fp32")
            val onnx = manifest.artifact(tower, "onnx", "fp32")
            assertEquals(1, pte.input.fixedBatch, "the .pte artifacts take batch 1")
            assertNull(onnx.input.fixedBatch, "ONNX takes any batch")
            assertEquals(if (tower == "image") "pixels" else "ids", pte.input.name)
            assertEquals(if (tower == "image") "image_embeds" else "text_embeds", onnx.output.name)
            assertEquals(if (tower == "image") "float32" else "int64", onnx.input.dtype)
            assertEquals(pte.sha256, manifest.files[pte.file])
            assertEquals(pte, manifest.preferred(tower, listOf("pte", "onnx")))
            assertEquals(onnx, manifest.preferred(tower, listOf("mlpackage", "onnx")))
        }
        val p = manifest.preprocess
        assertEquals(listOf(3, p.size, p.size),
            TestInputs.golden.array("pixels.npy").shape.drop(1))
        assertEquals("bicubic", p.resample)
        assertEquals(3, p.mean.size); assertEquals(3, p.std.size)
        assertTrue(p.exifTranspose)
        assertEquals(listOf(255, 255, 255), p.background.toList())
        assertEquals(77, manifest.text.contextLength)
        assertEquals(49406 to 49407, manifest.text.sotId to manifest.text.eotId)
        assertEquals(0, manifest.text.padId)
        assertEquals(64, manifest.preprocessSha256.length)
        manifest.files.keys.forEach { manifest.verify(it) } // every file of the exported bundle is intact
    }

    /** The bundle's manifest.json as plain JSON, read without Manifest's parsing. */
    private fun rawManifest(): JsonObject =
        JsonParser.parseString(File(TestInputs.bundle, "manifest.json").readText()).asJsonObject

    @Test
    fun readsTheSearchSettings() {
        // Golden: the parsed settings are the values in the bundle's manifest.json.
        val raw = rawManifest()
        val section = raw.getAsJsonObject("search")
        val search = manifest.search
        assertEquals(Manifest.SCHEMA_VERSION, manifest.schemaVersion)
        assertEquals(raw.get("schema_version").asInt, manifest.schemaVersion)
        assertEquals(section.get("exact_below_photos").asInt, search.exactBelowPhotos)
        assertEquals(section.get("rerank_candidates").asInt, search.rerankCandidates)
        assertEquals(section.get("default_k").asInt, search.defaultK)
        // The switch point as runtime/search/pq_index.py: exact below it, PQ + exact re-rank from it on when there are codes.
        assertFalse(search.usesPq(search.exactBelowPhotos - 1, hasCodes = true))
        assertTrue(search.usesPq(search.exactBelowPhotos, hasCodes = true))
        assertFalse(search.usesPq(search.exactBelowPhotos, hasCodes = false))
        // What Kotlin read, for tests/apps/test_android_core.py to compare with manifest.json through Python.
        val parsed = JsonObject().apply {
            addProperty("schema_version", manifest.schemaVersion)
            add("search", JsonObject().apply {
                addProperty("exact_below_photos", search.exactBelowPhotos)
                addProperty("rerank_candidates", search.rerankCandidates)
                addProperty("default_k", search.defaultK)
            })
        }
        TestInputs.outManifest.absoluteFile.parentFile?.mkdirs()
        TestInputs.outManifest.writeText(GsonBuilder().setPrettyPrinting().create().toJson(parsed))
    }

    @Test
    fun refusesABadSearchSection(@TempDir tmp: File) {
        val original = rawManifest()
        fun load(edit: JsonObject.() -> Unit): Manifest {
            val copy = original.deepCopy().apply(edit)
            File(tmp, "manifest.json").writeText(copy.toString())
            return Manifest.load(tmp)
        }
        fun refused(what: String, vararg words: String, edit: JsonObject.() -> Unit) {
            val error = assertThrows(BundleError::class.java, { load(edit) }, what)
            for (word in words) assertTrue(error.message!!.contains(word), "$what: ${error.message}")
        }
        assertEquals(manifest.search, load { }.search) // an intact copy is accepted
        // Keys a newer exporter may add are ignored, as the other sections'.
        assertEquals(manifest.search, load { getAsJsonObject("search").addProperty("future_setting", 7) }.search)

        refused("no search section", "'search'", "exact_below_photos") { remove("search") }
        refused("search is not an object", "'search'") { addProperty("search", "fast") }
        for (key in SearchSettings.KEYS) {
            refused("$key missing", "search.$key", "positive integer") { getAsJsonObject("search").remove(key) }
            val bad = mapOf("a string" to JsonPrimitive("10"), "a fraction" to JsonPrimitive(10.5),
                "a float literal" to JsonParser.parseString("10.0"), "an exponent" to JsonParser.parseString("1e3"),
                "zero" to JsonPrimitive(0), "negative" to JsonPrimitive(-5), "a boolean" to JsonPrimitive(true),
                "null" to JsonParser.parseString("null"))
            for ((what, value) in bad) {
                refused("$key $what", "search.$key", "positive integer") { getAsJsonObject("search").add(key, value) }
            }
        }
        refused("a newer schema", "schema_version", "reads up to 2") { addProperty("schema_version", 3) }
        refused("the schema before the search section", "predates", "'search'") { addProperty("schema_version", 1) }
        refused("a schema_version string", "schema_version") { addProperty("schema_version", "2") }
    }

    @Test
    fun refusesATokenizerItDoesNotImplement(@TempDir tmp: File) {
        fun load(edit: JsonObject.() -> Unit): Manifest {
            File(tmp, "manifest.json").writeText(rawManifest().apply(edit).toString())
            return Manifest.load(tmp)
        }
        // A bundle pulled from Hugging Face: tokenizer.json in place of CLIP's merges file, which it does not have.
        val hub: JsonObject.() -> Unit = {
            val merges = getAsJsonObject("text").getAsJsonObject("files").get("merges").asString
            add("text", JsonParser.parseString("""{"tokenizer": "hf-tokenizers", "files": {"tokenizer":
                "tokenizer/tokenizer.json"}, "context_length": 64, "pad_id": 1}"""))
            getAsJsonObject("files").remove(merges)
            getAsJsonObject("files").add("tokenizer/tokenizer.json", JsonObject().apply {
                addProperty("sha256", "0".repeat(64)); addProperty("bytes", 2)
            })
        }
        fun refused(needs: String, edit: JsonObject.() -> Unit) {
            val error = assertThrows(BundleError::class.java) { load(edit) }
            assertEquals("bundle $tmp: $needs; this app implements clip-bpe only " +
                "(use a bundle exported by pocketclip export)", error.message)
        }
        assertEquals(Manifest.TOKENIZER, load { }.text.tokenizer) // the exported clip-bpe bundle is accepted

        refused("needs the \"hf-tokenizers\" tokenizer", hub)
        // An unnamed tokenizer is not taken for clip-bpe: every exported manifest names it.
        refused("names no tokenizer (text.tokenizer is missing)") { hub(); getAsJsonObject("text").remove("tokenizer") }
        refused("names no tokenizer (text.tokenizer is null)") {
            hub(); getAsJsonObject("text").add("tokenizer", JsonNull.INSTANCE)
        }
    }

    @Test
    fun refusesATamperedArtifact(@TempDir tmp: File) {
        val artifact = manifest.artifact("image", "pte", "fp32")
        val copy = File(tmp, "bundle").apply { mkdirs() }
        File(TestInputs.bundle, "manifest.json").copyTo(File(copy, "manifest.json"))
        val bytes = File(TestInputs.bundle, artifact.file).readBytes()
        File(copy, artifact.file).writeBytes(bytes)
        val tampered = Manifest.load(copy)
        tampered.verify(tampered.artifact("image", "pte", "fp32")) // intact: accepted
        bytes[bytes.size / 2] = (bytes[bytes.size / 2].toInt() xor 1).toByte()
        File(copy, artifact.file).writeBytes(bytes)
        val error = assertThrows(BundleHashMismatch::class.java) { tampered.verify(tampered.artifact("image", "pte", "fp32")) }
        assertTrue(error.message!!.contains(artifact.file), error.message)
        assertThrows(BundleError::class.java) { tampered.verify("golden/ids.npy") } // listed, but missing here
        assertThrows(BundleError::class.java) { tampered.verify("not/listed.bin") }
    }

    @Test
    fun hashesFoldersAsTheRuntime(@TempDir tmp: File) {
        // runtime/bundle/manifest.py sha256_path of this folder (an .mlpackage is hashed this way), computed in Python.
        val folder = File(tmp, "x.mlpackage")
        File(folder, "sub").mkdirs()
        File(folder, "a.txt").writeText("hello")
        File(folder, "sub/b.bin").writeBytes(byteArrayOf(0, 1, 2))
        File(folder, "Z.txt").writeBytes(ByteArray(0))
        assertEquals("b85e49a59d85b853594ffeff805d10a0fb0ae42d40349b38f06b055a83496cba", BundleHashes.sha256(folder))
    }
}

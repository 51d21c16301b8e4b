// The bundle manifest (docs/contracts.md): artifacts, preprocessing, text spec, search settings, PQ codebooks,
// file hashes.
package org.pocketclip.core

import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import java.io.File

open class BundleError(message: String) : Exception(message)

/** A bundle file does not have the sha256 the manifest records: it was changed after export. */
class BundleHashMismatch(message: String) : BundleError(message)

data class TensorSpec(val name: String, val shape: List<String>, val dtype: String) {
    /** The fixed batch size, or null when the first dimension is symbolic ("batch"). */
    val fixedBatch: Int? get() = shape.firstOrNull()?.toIntOrNull()
}

data class Artifact(
    val name: String, val tower: String, val format: String, val precision: String, val file: String,
    val sha256: String, val bytes: Long, val inputs: List<TensorSpec>, val outputs: List<TensorSpec>,
) {
    val input: TensorSpec get() = inputs.first()
    val output: TensorSpec get() = outputs.first()
}

data class PreprocessSpec(
    val size: Int, val resize: String, val crop: String, val resample: String, val mean: FloatArray,
    val std: FloatArray, val channelOrder: String, val layout: String, val exifTranspose: Boolean,
    val background: IntArray,
)

data class TextSpec(
    val tokenizer: String, val mergesFile: String, val mergesUsed: Int, val contextLength: Int,
    val lowerCase: Boolean, val sotId: Int, val eotId: Int, val padId: Int,
)

/**
 * The manifest's `search` section: what every platform reads instead of hard-coding it.
 * Below [exactBelowPhotos] photos search is exact; from there on, when the store has PQ codes, PQ proposes
 * [rerankCandidates] candidates which are re-ranked exactly (runtime/search/pq_index.py). [defaultK]: hits returned by default.
 */
data class SearchSettings(val exactBelowPhotos: Int, val rerankCandidates: Int, val defaultK: Int) {
    /** True when a library of `photos` photos is searched with PQ codes + exact re-rank, false when exactly. */
    fun usesPq(photos: Int, hasCodes: Boolean): Boolean = hasCodes && photos >= exactBelowPhotos

    companion object {
        /** The section's keys, in the manifest's order. */
        val KEYS = listOf("exact_below_photos", "rerank_candidates", "default_k")
    }
}

data class PqSpec(val file: String, val subspaces: Int, val codewords: Int, val subDim: Int, val method: String,
                  val sha256: String)

class Manifest(val root: File, private val json: JsonObject) {
    val schemaVersion: Int = json.get("schema_version").asInt
    val modelName: String = json.getAsJsonObject("model").get("name").asString
    val fingerprint: String = json.getAsJsonObject("model").get("fingerprint").asString
    val embedDim: Int = json.getAsJsonObject("model").get("embed_dim").asInt
    val preprocess: PreprocessSpec = parsePreprocess(json.getAsJsonObject("preprocess"))
    val text: TextSpec = parseText(json.getAsJsonObject("text"))
    val artifacts: List<Artifact> = json.getAsJsonArray("artifacts").map { parseArtifact(it.asJsonObject) }
    val pq: PqSpec? = json.getAsJsonObject("pq")?.let(::parsePq)
    /** The `search` section (required from schema_version 2); a missing or malformed one is refused. */
    val search: SearchSettings = parseSearch(File(root, "manifest.json"), json.get("search"))
    /** relative path -> sha256, for every file of the bundle. */
    val files: Map<String, String> = json.getAsJsonObject("files").entrySet()
        .associate { (path, record) -> path to record.asJsonObject.get("sha256").asString }

    /** Identity of the preprocessing spec, as runtime/bundle/manifest.py (sha256 of the sorted-keys JSON). */
    val preprocessSha256: String =
        BundleHashes.sha256(PythonJson.dumpsSorted(json.getAsJsonObject("preprocess")).toByteArray(Charsets.UTF_8))

    val goldenFolder: String = json.getAsJsonObject("golden")?.get("folder")?.asString ?: "golden"

    /** The file of a bundle path after checking it against the manifest's sha256. */
    fun verify(relative: String): File {
        val expected = files[relative] ?: throw BundleError("$relative is not listed in ${File(root, "manifest.json")}")
        val file = File(root, relative)
        if (!file.exists()) throw BundleError("$file is missing from the bundle")
        val actual = BundleHashes.sha256(file)
        if (actual != expected) {
            throw BundleHashMismatch("$file: sha256 ${actual.take(16)}… does not match the manifest's " +
                "${expected.take(16)}…; the file was changed after export")
        }
        return file
    }

    /** An artifact's file, verified against both its artifact entry and the files table. */
    fun verify(artifact: Artifact): File {
        val file = verify(artifact.file)
        if (files[artifact.file] != artifact.sha256) {
            throw BundleHashMismatch("${artifact.file}: the artifact entry and the files table disagree on its sha256")
        }
        return file
    }

    fun artifact(tower: String, format: String, precision: String): Artifact =
        artifacts.firstOrNull { it.tower == tower && it.format == format && it.precision == precision }
            ?: throw BundleError("no $tower artifact in $format/$precision; the bundle has " +
                artifacts.filter { it.tower == tower }.map { "${it.format}/${it.precision}" }.sorted())

    /** The first artifact of `tower` whose format is in `formats` (in that order of preference). */
    fun preferred(tower: String, formats: List<String>, precision: String = "fp32"): Artifact =
        formats.firstNotNullOfOrNull { f -> artifacts.firstOrNull { it.tower == tower && it.format == f && it.precision == precision } }
            ?: throw BundleError("no $tower artifact in ${formats.joinToString("/")} at $precision")

    companion object {
        /** 2: the `search` section (runtime/bundle/manifest.py SCHEMA_VERSION). */
        const val SCHEMA_VERSION = 2

        /** The one tokenizer this core implements (ClipTokenizer); a bundle that needs another is refused at load. */
        const val TOKENIZER = "clip-bpe"

        private val INTEGER = Regex("-?[0-9]+")

        /** An integer JSON number written as one ("2", not "2.0", "2e0", "\"2\"" or true), as Python's json reads an int. */
        private fun integerOrNull(element: JsonElement?): Int? {
            if (element == null || !element.isJsonPrimitive || !element.asJsonPrimitive.isNumber) return null
            return element.asString.takeIf { INTEGER.matches(it) }?.toIntOrNull()
        }

        fun load(root: File): Manifest {
            val path = File(root, "manifest.json")
            if (!path.exists()) throw BundleError("$root is not a bundle: no manifest.json")
            val json = try {
                JsonParser.parseString(path.readText()).asJsonObject
            } catch (e: Exception) {
                throw BundleError("$path is not valid JSON: ${e.message}")
            }
            val version = integerOrNull(json.get("schema_version"))
            if (version == null || version > SCHEMA_VERSION) {
                throw BundleError("$path: schema_version ${json.get("schema_version")}; this code reads up to $SCHEMA_VERSION")
            }
            if (version < SCHEMA_VERSION) {
                throw BundleError("$path: schema_version $version predates the 'search' section; " +
                    "export the bundle again with `pocketclip export`")
            }
            for (key in listOf("model", "preprocess", "text", "artifacts", "files")) {
                if (!json.has(key)) throw BundleError("$path has no '$key' section")
            }
            checkTokenizer(root, json.get("text"))
            return Manifest(root, json) // parses and checks the `search` section
        }

        /** Refuses, before its `files` are read, a text section whose tokenizer is not [TOKENIZER] or is not named. */
        private fun checkTokenizer(root: File, text: JsonElement) {
            val named = (text as? JsonObject)?.get("tokenizer")
            val needs = if (named is JsonPrimitive && named.isString) {
                if (named.asString == TOKENIZER) return
                "needs the ${PythonJson.dumpsSorted(named)} tokenizer"
            } else {
                val found = named?.let(PythonJson::dumpsSorted) ?: "missing"
                "names no tokenizer (text.tokenizer is $found)"
            }
            throw BundleError("bundle $root: $needs; this app implements $TOKENIZER only " +
                "(use a bundle exported by pocketclip export)")
        }

        private fun parseSearch(path: File, section: JsonElement?): SearchSettings {
            if (section == null || !section.isJsonObject) {
                throw BundleError("$path has no 'search' section (an object with ${SearchSettings.KEYS.joinToString(", ")})")
            }
            val o = section.asJsonObject
            val values = SearchSettings.KEYS.map { key ->
                val value = integerOrNull(o.get(key))
                if (value == null || value < 1) {
                    throw BundleError("$path: search.$key is ${o.get(key) ?: "missing"}; it must be a positive integer")
                }
                value
            }
            return SearchSettings(exactBelowPhotos = values[0], rerankCandidates = values[1], defaultK = values[2])
        }

        fun parsePreprocess(o: JsonObject) = PreprocessSpec(
            size = o.get("size").asInt,
            resize = o.get("resize")?.asString ?: "shortest_side",
            crop = o.get("crop")?.asString ?: "center",
            resample = o.get("resample")?.asString ?: "bicubic",
            mean = o.getAsJsonArray("mean").map { it.asFloat }.toFloatArray(),
            std = o.getAsJsonArray("std").map { it.asFloat }.toFloatArray(),
            channelOrder = o.get("channel_order")?.asString ?: "RGB",
            layout = o.get("layout")?.asString ?: "NCHW",
            exifTranspose = o.get("exif_transpose")?.asBoolean ?: true,
            background = o.getAsJsonArray("background")?.map { it.asInt }?.toIntArray() ?: intArrayOf(255, 255, 255),
        )

        private fun parseText(o: JsonObject) = TextSpec(
            tokenizer = o.get("tokenizer").asString,
            mergesFile = o.getAsJsonObject("files").get("merges").asString,
            mergesUsed = o.get("merges_used")?.asInt ?: (49152 - 256 - 2),
            contextLength = o.get("context_length").asInt,
            lowerCase = o.get("lower_case")?.asBoolean ?: true,
            sotId = o.get("sot_id").asInt, eotId = o.get("eot_id").asInt, padId = o.get("pad_id").asInt,
        )

        private fun parseTensor(o: JsonObject) = TensorSpec(
            name = o.get("name").asString,
            shape = o.getAsJsonArray("shape")?.map { it.asString } ?: emptyList(),
            dtype = o.get("dtype")?.asString ?: "float32",
        )

        private fun parseArtifact(o: JsonObject) = Artifact(
            name = o.get("name").asString, tower = o.get("tower").asString, format = o.get("format").asString,
            precision = o.get("precision").asString, file = o.get("file").asString, sha256 = o.get("sha256").asString,
            bytes = o.get("bytes")?.asLong ?: 0L,
            inputs = o.getAsJsonArray("inputs").map { parseTensor(it.asJsonObject) },
            outputs = o.getAsJsonArray("outputs").map { parseTensor(it.asJsonObject) },
        )

        private fun parsePq(o: JsonObject) = PqSpec(
            file = o.get("file").asString, subspaces = o.get("subspaces").asInt, codewords = o.get("codewords").asInt,
            subDim = o.get("sub_dim").asInt, method = o.get("method")?.asString ?: "", sha256 = o.get("sha256").asString,
        )
    }
}

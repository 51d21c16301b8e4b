// The bundle manifest (docs/contracts.md): artifacts, preprocessing, text spec, PQ codebooks, file hashes.
package org.pocketclip.core

import com.google.gson.JsonObject
import com.google.gson.JsonParser
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
    /** relative path -> sha256, for every file of the bundle. */
    val files: Map<String, String> = json.getAsJsonObject("files").entrySet()
        .associate { (path, record) -> path to record.asJsonObject.get("sha256").asString }

    /** Identity of the preprocessing spec, as runtime/bundle.py (sha256 of the sorted-keys JSON). */
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
        const val SCHEMA_VERSION = 1

        fun load(root: File): Manifest {
            val path = File(root, "manifest.json")
            if (!path.exists()) throw BundleError("$root is not a bundle: no manifest.json")
            val json = try {
                JsonParser.parseString(path.readText()).asJsonObject
            } catch (e: Exception) {
                throw BundleError("$path is not valid JSON: ${e.message}")
            }
            val version = json.get("schema_version")
            if (version == null || !version.isJsonPrimitive || version.asInt > SCHEMA_VERSION) {
                throw BundleError("$path: schema_version $version; this code reads up to $SCHEMA_VERSION")
            }
            for (key in listOf("model", "preprocess", "text", "artifacts", "files")) {
                if (!json.has(key)) throw BundleError("$path has no '$key' section")
            }
            return Manifest(root, json)
        }

        private fun parsePreprocess(o: JsonObject) = PreprocessSpec(
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

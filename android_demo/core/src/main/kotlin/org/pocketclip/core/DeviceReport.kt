// The device report (runtime/schemas/device-report.schema.json) that `pocketclip parity --device-report` checks.
package org.pocketclip.core

import com.google.gson.GsonBuilder
import com.google.gson.JsonArray
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import java.io.File

data class ArtifactRun(
    val file: String, val sha256: String, val tower: String, val vectors: List<FloatArray>,
    val galleryVectors: List<FloatArray>? = null, val timingsMs: List<Double>? = null,
)

object DeviceReport {
    const val SCHEMA = "pocketclip-device-report/1"

    fun toJson(device: String, runtime: String, modelFingerprint: String, runs: List<ArtifactRun>): String {
        require(runs.isNotEmpty()) { "a device report holds at least one artifact" }
        val root = JsonObject()
        root.addProperty("schema", SCHEMA)
        root.addProperty("device", device)
        root.addProperty("runtime", runtime)
        root.addProperty("model_fingerprint", modelFingerprint)
        val artifacts = JsonArray()
        for (run in runs) {
            require(run.tower == "image" || run.tower == "text") { "tower ${run.tower}" }
            val item = JsonObject()
            item.addProperty("file", run.file)
            item.addProperty("sha256", run.sha256)
            item.addProperty("tower", run.tower)
            item.add("vectors", matrix(run.vectors))
            run.galleryVectors?.let { item.add("gallery_vectors", matrix(it)) }
            run.timingsMs?.let { t -> item.add("timings_ms", JsonArray().also { a -> t.forEach { v -> a.add(v) } }) }
            artifacts.add(item)
        }
        root.add("artifacts", artifacts)
        return GsonBuilder().setPrettyPrinting().create().toJson(root) + "\n"
    }

    fun write(file: File, device: String, runtime: String, modelFingerprint: String, runs: List<ArtifactRun>) {
        file.absoluteFile.parentFile?.mkdirs()
        file.writeText(toJson(device, runtime, modelFingerprint, runs))
    }

    /** Exact float32 values (as doubles); a non-finite value is null, which the checker reports as such. */
    private fun matrix(rows: List<FloatArray>): JsonArray = JsonArray().also { out ->
        for (row in rows) out.add(JsonArray().also { a ->
            for (v in row) if (v.isFinite()) a.add(v.toDouble()) else a.add(JsonNull.INSTANCE)
        })
    }
}

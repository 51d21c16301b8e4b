package org.pocketclip.core

import com.google.gson.JsonParser
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

class DeviceReportTest {
    @Test
    fun writesTheSchema() {
        // A format test: the vectors are the golden references themselves ("golden echo"); a phone's
        // instrumented test writes its own outputs through the same code.
        val manifest = TestInputs.manifest
        val golden = TestInputs.golden
        val runs = manifest.artifacts.map { artifact ->
            val file = manifest.verify(artifact)
            val image = artifact.tower == "image"
            ArtifactRun(
                file = artifact.file, sha256 = BundleHashes.sha256(file), tower = artifact.tower,
                vectors = golden.array(if (image) "image_embeddings.npy" else "text_embeddings.npy").floatRows().toList(),
                galleryVectors = golden.array(if (image) "gallery_image_embeddings.npy" else "gallery_text_embeddings.npy")
                    .floatRows().toList(),
                timingsMs = listOf(0.0),
            )
        }
        val device = "JVM ${System.getProperty("java.version")}, ${System.getProperty("os.name")} ${System.getProperty("os.arch")}"
        DeviceReport.write(TestInputs.outReport, device, "jvm golden echo", manifest.fingerprint, runs)

        val report = JsonParser.parseString(TestInputs.outReport.readText()).asJsonObject
        assertEquals(DeviceReport.SCHEMA, report.get("schema").asString)
        assertEquals(manifest.fingerprint, report.get("model_fingerprint").asString)
        val artifacts = report.getAsJsonArray("artifacts")
        assertEquals(manifest.artifacts.size, artifacts.size())
        for ((item, run) in artifacts.map { it.asJsonObject }.zip(runs)) {
            assertTrue(item.get("sha256").asString.matches(Regex("[0-9a-f]{64}")))
            val vectors = item.getAsJsonArray("vectors")
            assertEquals(run.vectors.size, vectors.size())
            val first = vectors[0].asJsonArray.map { it.asDouble.toFloat() }.toFloatArray()
            assertTrue(first.contentEquals(run.vectors[0]), "float32 values survive the JSON round trip exactly")
        }
        val nonFinite = JsonParser.parseString(DeviceReport.toJson("d", "r", manifest.fingerprint,
            listOf(ArtifactRun("f", "0".repeat(64), "text", listOf(floatArrayOf(Float.NaN, 1f)))))).asJsonObject
        assertTrue(nonFinite.getAsJsonArray("artifacts")[0].asJsonObject.getAsJsonArray("vectors")[0].asJsonArray[0].isJsonNull)
    }
}

package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertEquals
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
        // runtime/bundle.py sha256_path of this folder (an .mlpackage is hashed this way), computed in Python.
        val folder = File(tmp, "x.mlpackage")
        File(folder, "sub").mkdirs()
        File(folder, "a.txt").writeText("hello")
        File(folder, "sub/b.bin").writeBytes(byteArrayOf(0, 1, 2))
        File(folder, "Z.txt").writeBytes(ByteArray(0))
        assertEquals("b85e49a59d85b853594ffeff805d10a0fb0ae42d40349b38f06b055a83496cba", BundleHashes.sha256(folder))
    }
}

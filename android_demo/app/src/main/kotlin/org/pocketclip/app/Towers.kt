// The bundle's towers on the phone: ExecuTorch (XNNPACK .pte) first, ONNX Runtime Android as the fallback,
// chosen from the manifest's artifacts; every artifact is checked against its sha256 before it is loaded.
package org.pocketclip.app

import ai.onnxruntime.OnnxTensor
import ai.onnxruntime.OrtEnvironment
import ai.onnxruntime.OrtSession
import android.util.Log
import org.pocketclip.core.Artifact
import org.pocketclip.core.BundleError
import org.pocketclip.core.Manifest
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor
import java.io.File
import java.nio.FloatBuffer
import java.nio.LongBuffer

/** One tower: rows in (image: 3*S*S floats, text: context-length ids), one embedding per row out, in order. */
abstract class Tower(val artifact: Artifact) : AutoCloseable {
    abstract val backend: String

    /** (batch, ...) flattened input -> (batch, dim) flattened output. */
    protected abstract fun runFloats(data: FloatArray, shape: LongArray): FloatArray
    protected abstract fun runLongs(data: LongArray, shape: LongArray): FloatArray

    private val rowShape: LongArray = artifact.input.shape.drop(1).map { it.toLong() }.toLongArray()
    private val batch: Int = artifact.input.fixedBatch ?: 16 // the .pte artifacts are exported for batch 1

    fun embedPixels(rows: List<FloatArray>): List<FloatArray> = rows.chunked(batch).flatMap { chunk ->
        val data = FloatArray(chunk.sumOf { it.size }).also { out -> var o = 0; chunk.forEach { it.copyInto(out, o); o += it.size } }
        split(runFloats(data, shapeOf(chunk.size)), chunk.size)
    }

    fun embedIds(rows: List<LongArray>): List<FloatArray> = rows.chunked(batch).flatMap { chunk ->
        val data = LongArray(chunk.sumOf { it.size }).also { out -> var o = 0; chunk.forEach { it.copyInto(out, o); o += it.size } }
        split(runLongs(data, shapeOf(chunk.size)), chunk.size)
    }

    private fun shapeOf(n: Int) = longArrayOf(n.toLong()) + rowShape

    private fun split(flat: FloatArray, n: Int): List<FloatArray> {
        val dim = flat.size / n
        return (0 until n).map { flat.copyOfRange(it * dim, (it + 1) * dim) }
    }
}

class ExecuTorchTower(artifact: Artifact, file: File) : Tower(artifact) {
    override val backend = "executorch ${BuildConfig.EXECUTORCH_VERSION} XNNPACK"
    // LOAD_MODE_MMAP maps the file (Module.load's default, LOAD_MODE_FILE, reads all of it into memory) and reads
    // the program's header; the method (its operators and the XNNPACK delegate) loads on first use unless loaded here.
    private val module: Module = Module.load(file.absolutePath, Module.LOAD_MODE_MMAP).also { module ->
        // Load it now, so that an artifact this runtime cannot run falls back to ONNX Runtime in Towers.open.
        // Since ExecuTorch 1.3 loadMethod returns nothing and throws ExecutorchRuntimeException (with the native
        // error code) when the method cannot load.
        try {
            module.loadMethod("forward")
        } catch (e: Throwable) {
            module.destroy()
            throw IllegalStateException("${artifact.file}: ExecuTorch cannot load method forward: ${e.message}", e)
        }
    }

    override fun runFloats(data: FloatArray, shape: LongArray) = forward(Tensor.fromBlob(data, shape))
    override fun runLongs(data: LongArray, shape: LongArray) = forward(Tensor.fromBlob(data, shape))

    /** A failed execution throws ExecutorchRuntimeException; a destroyed module, IllegalStateException. */
    private fun forward(input: Tensor): FloatArray {
        val outputs = module.forward(EValue.from(input))
        check(outputs.isNotEmpty()) { "${artifact.file}: ExecuTorch returned no output" }
        return outputs[0].toTensor().dataAsFloatArray
    }

    override fun close() = module.destroy()
}

class OnnxTower(artifact: Artifact, file: File) : Tower(artifact) {
    override val backend = "onnxruntime ${BuildConfig.ONNXRUNTIME_VERSION} CPU"
    private val env = OrtEnvironment.getEnvironment()
    // ONNX Runtime: "The SessionOptions object must not be closed until all sessions which use it are closed";
    // so they live as long as the session and close after it (close()).
    private val options = OrtSession.SessionOptions()
    private val session: OrtSession = try {
        env.createSession(file.absolutePath, options)
    } catch (e: Throwable) {
        options.close()
        throw e
    }

    override fun runFloats(data: FloatArray, shape: LongArray) =
        OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape).use(::runSession)

    override fun runLongs(data: LongArray, shape: LongArray) =
        OnnxTensor.createTensor(env, LongBuffer.wrap(data), shape).use(::runSession)

    private fun runSession(input: OnnxTensor): FloatArray =
        // Only the output that is read (run(inputs) would compute and copy out every output of the model).
        session.run(mapOf(artifact.input.name to input), setOf(artifact.output.name)).use { result ->
            val output = result.get(artifact.output.name)
                .orElseThrow { IllegalStateException("${artifact.file}: no output ${artifact.output.name}") }
            @Suppress("UNCHECKED_CAST")
            val rows = output.value as Array<FloatArray>
            FloatArray(rows.sumOf { it.size }).also { out -> var o = 0; rows.forEach { it.copyInto(out, o); o += it.size } }
        }

    override fun close() {
        try {
            session.close()
        } finally {
            options.close() // after the session, never before
        }
    }
}

object Towers {
    /** Formats this app runs, in order of preference. */
    val FORMATS = listOf("pte", "onnx")

    /** Load one artifact (after checking its sha256) with the backend its format needs. */
    fun open(manifest: Manifest, artifact: Artifact): Tower {
        val file = manifest.verify(artifact)
        return when (artifact.format) {
            "pte" -> ExecuTorchTower(artifact, file)
            "onnx" -> OnnxTower(artifact, file)
            else -> throw BundleError("${artifact.file}: format ${artifact.format} does not run on Android (${FORMATS})")
        }
    }

    /** The tower's preferred artifact at `precision`; ONNX Runtime when ExecuTorch is missing or cannot load it. */
    fun open(manifest: Manifest, tower: String, precision: String = "fp32"): Tower {
        val candidates = FORMATS.mapNotNull { f ->
            manifest.artifacts.firstOrNull { it.tower == tower && it.format == f && it.precision == precision }
        }
        if (candidates.isEmpty()) throw BundleError("the bundle has no $tower artifact in ${FORMATS.joinToString("/")} at $precision")
        var failure: Throwable? = null
        for (artifact in candidates) {
            try {
                return open(manifest, artifact)
            } catch (e: BundleError) {
                throw e // a tampered bundle is refused, never silently replaced by another artifact
            } catch (e: Throwable) { // UnsatisfiedLinkError, an operator the runtime lacks, ...
                Log.w("pocketclip", "${artifact.file} did not load with ${artifact.format}; trying the next backend", e)
                failure = e
            }
        }
        throw IllegalStateException("no backend could load the $tower tower", failure)
    }
}

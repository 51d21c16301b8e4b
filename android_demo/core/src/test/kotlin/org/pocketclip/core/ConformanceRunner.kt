// The Kotlin core's conformance runner (docs/conformance.md): the scenario files the reference runs
// (runtime/indexing/conformance.py), run through this core's LibraryIndexer on a virtual gallery. The JVM
// cannot run the bundle, so the encoder replays the reference's vector of each content (models.json) and
// counts the calls; decoding is the JVM's own (javax.imageio), bounded from the header before any pixel.
package org.pocketclip.core

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonNull
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import java.io.ByteArrayInputStream
import java.io.File
import java.nio.file.Files
import java.time.OffsetDateTime
import javax.imageio.ImageIO

/** A scenario file that cannot be run as written: the message names the file and the step. */
class ScenarioError(message: String) : Exception(message)

/** The simulated death of the indexing process: an Error, so that nothing in the core catches it. */
class Killed(message: String) : Error(message)

class ConformanceRunner(private val folder: File, private val places: Places = TestInputs.places) {
    companion object {
        const val START = "2026-01-01T00:00:00+00:00"
        private const val MAX_PIXELS = 89_478_485L // Pillow's MAX_IMAGE_PIXELS: a non-JPEG past it is refused
        val META = listOf("schema_version", "model_fingerprint", "dim", "preprocess_sha256", "precision",
            "pq_codebooks_sha256", "root", "bundle", "backend")
        val REPORT = listOf("embedded", "unchanged", "moved", "touched", "restored", "errors", "deleted",
            "skipped_errors", "withheld", "purged", "facts_filled")
        const val LOCATION_TOLERANCE = 1e-9 // degrees: latitude and longitude are doubles of one formula everywhere
        val DEFAULTS = mapOf("model" to JsonPrimitive("demo"), "codebooks" to JsonNull.INSTANCE,
            "backend" to JsonPrimitive("onnx"), "bundle" to JsonPrimitive("bundle"), "reindex" to JsonPrimitive(false),
            "allow_empty" to JsonPrimitive(false), "retry_errors" to JsonPrimitive(false),
            "batch_size" to JsonPrimitive(4), "kill_after_batches" to JsonNull.INSTANCE)
        val EVENTS = setOf("add", "modify", "touch", "move", "delete", "unreadable", "readable", "cloud", "root_gone",
            "root_back", "partial_access", "full_access", "days", "crash_on", "forget_facts")
    }

    data class Result(val scenario: String, val steps: Int, val passed: Boolean, val difference: String?)

    private class Model(val fingerprint: String, val dim: Int, val preprocessSha256: String, val precision: String,
                        val preprocess: PreprocessSpec, val vectors: Map<String, FloatArray>)

    private val index: JsonObject = try {
        JsonParser.parseString(File(folder, "models.json").readText()).asJsonObject
    } catch (e: Exception) {
        throw ScenarioError("${File(folder, "models.json")}: not a scenario folder's index (${e.message})")
    }
    private val contents: Map<String, ByteArray> = index.getAsJsonObject("contents").entrySet()
        .associate { it.key to File(File(folder, "contents"), it.value.asString).readBytes() }
    private val models: Map<String, Model> = index.getAsJsonObject("models").entrySet().associate { (name, spec) ->
        val o = spec.asJsonObject
        name to Model(o["fingerprint"].asString, o["dim"].asInt, o["preprocess_sha256"].asString, o["precision"].asString,
            Manifest.parsePreprocess(o.getAsJsonObject("preprocess")),
            o.getAsJsonObject("vectors").entrySet().associate { (digest, v) ->
                digest to FloatArray(v.asJsonArray.size()) { v.asJsonArray[it].asFloat } })
    }
    private val codebooks: Map<String, Pair<ProductQuantizer, String>> = index.getAsJsonObject("codebooks").entrySet()
        .associate { (name, spec) ->
            name to (ProductQuantizer.fromNpy(File(File(folder, "codebooks"), spec.asJsonObject["file"].asString)) to
                spec.asJsonObject["sha256"].asString)
        }

    private class Photo(val content: String, val data: ByteArray, var mtimeNs: Long, var readable: Boolean = true,
                        var cloud: Boolean = false)

    /** A photo library in memory: this runner's PhotoSource. */
    private inner class Gallery : PhotoSource {
        val photos = sortedMapOf<String, Photo>()
        var clock: OffsetDateTime = OffsetDateTime.parse(START)
        var ticks = 0L
        var gone = false
        val crash = HashSet<String>()
        var forgetFacts = false // the next run starts by emptying every row's facts (a store migrated from v1)
        override val root = "gallery"
        override var partial = false
        lateinit var spec: PreprocessSpec

        fun now(): String = EmbeddingStore.format(clock)
        fun nextMtime(): Long { ticks++; return clock.toEpochSecond() * 1_000_000_000L + ticks * 1_000_000L }

        override fun list(): List<PhotoStat> =
            if (gone) emptyList() else photos.map { (path, p) -> PhotoStat(path, p.data.size.toLong(), p.mtimeNs) }

        override fun rootProblem(photos: List<PhotoStat>): String? =
            if (gone) "does not exist (not mounted?)" else if (photos.isEmpty()) "holds no photo file" else null

        private fun read(photo: PhotoStat): Photo {
            val found = photos[photo.path] ?: throw PhotoUnavailable("the file vanished")
            if (found.cloud) throw PhotoUnavailable("only in the cloud")
            if (!found.readable) throw PhotoUnavailable("permission denied")
            return found
        }

        override fun contentHash(photo: PhotoStat): String = Blake2b.contentHash(read(photo).data)

        override fun facts(photo: PhotoStat): PhotoFacts = factsOf(photo, read(photo).data)

        private fun factsOf(photo: PhotoStat, data: ByteArray) =
            PhotoFacts.read(data, photo.mtimeNs, PhotoFacts.isRaw(photo.path), places)

        override fun decode(photo: PhotoStat): DecodedPhoto {
            val found = read(photo)
            if (found.content in crash) throw Killed("decoding ${photo.path} killed the process")
            val stream = ImageIO.createImageInputStream(ByteArrayInputStream(found.data))
            val reader = ImageIO.getImageReaders(stream).asSequence().firstOrNull()
                ?: throw PhotoFailure("not an image the JVM can read")
            try {
                reader.input = stream
                val (width, height) = try { reader.getWidth(0) to reader.getHeight(0) } catch (e: Exception) {
                    throw PhotoFailure("cannot decode: ${e.message}")
                }
                if (width.toLong() * height > MAX_PIXELS) throw PhotoFailure("decompression bomb refused (${width}x$height)")
                val image = try { reader.read(0) } catch (e: Exception) { throw PhotoFailure("cannot decode: ${e.message}") }
                val argb = image.getRGB(0, 0, image.width, image.height, null, 0, image.width)
                val rgba = RgbaImage.fromArgb(image.width, image.height, argb, image.colorModel.hasAlpha())
                return DecodedPhoto(Preprocess.run(rgba, 1, spec), width, height, factsOf(photo, found.data))
            } finally {
                reader.dispose()
            }
        }
    }

    private class Replay(val model: Model, val killAfter: Int?) : PhotoEmbedder {
        var batches = 0
        val embedded = ArrayList<String>()
        override fun embed(photos: List<Pair<String, String>>, decoded: List<DecodedPhoto>): List<FloatArray> {
            if (killAfter != null && batches >= killAfter) throw Killed("killed while a batch was being embedded")
            batches++
            embedded += photos.map { it.first }
            return photos.map { (path, digest) ->
                model.vectors[digest] ?: throw ScenarioError("models.json has no vector for the content of $path")
            }
        }
    }

    fun files(): List<File> = (folder.listFiles() ?: emptyArray()).filter { it.name.endsWith(".json") && it.name != "models.json" }
        .sortedBy { it.name }.ifEmpty { throw ScenarioError("$folder: no scenario files") }

    fun runAll(): List<Result> = files().map { run(it) }

    fun run(file: File): Result {
        val scenario = try { JsonParser.parseString(file.readText()).asJsonObject } catch (e: Exception) {
            throw ScenarioError("${file.name}: not a scenario (${e.message})")
        }
        val steps = scenario.getAsJsonArray("steps") ?: throw ScenarioError("${file.name}: not a scenario (no steps)")
        val name = scenario["name"]?.asString ?: file.nameWithoutExtension
        val gallery = Gallery()
        val tmp = Files.createTempDirectory("pocketclip-conformance-").toFile()
        try {
            steps.forEachIndexed { i, element ->
                val number = i + 1
                val step = element.asJsonObject
                val where = "${file.name}: step $number"
                val got = try {
                    step.getAsJsonArray("events")?.forEach { apply(gallery, it.asJsonObject, where) }
                    val run = HashMap(DEFAULTS).also { m -> step.getAsJsonObject("run")?.entrySet()?.forEach { m[it.key] = it.value } }
                    runStep(File(tmp, "store.db"), gallery, run, where)
                } catch (e: ScenarioError) {
                    throw e
                } catch (e: RuntimeException) {
                    throw ScenarioError("$where: malformed (${e.javaClass.simpleName}: ${e.message})")
                }
                val expected = step.getAsJsonObject("expect")
                if (expected != null) {
                    val difference = firstDifference(expected, got)
                    if (difference != null) return Result(file.nameWithoutExtension, number, false,
                        "$name: step $number (${step["name"]?.asString ?: ""}): $difference")
                }
            }
        } finally {
            tmp.deleteRecursively()
        }
        return Result(file.nameWithoutExtension, steps.size(), true, null)
    }

    private fun apply(gallery: Gallery, event: JsonObject, where: String) {
        val kinds = event.keySet().intersect(EVENTS)
        if (kinds.size != 1) throw ScenarioError("$where: an event needs exactly one of ${EVENTS.sorted()}, got ${event.keySet().sorted()}")
        val kind = kinds.single()
        val target = event[kind]
        when (kind) {
            "add", "modify" -> {
                val content = event["content"].asString
                val data = contents[content] ?: throw ScenarioError("$where: unknown content '$content'")
                gallery.photos[target.asString] = Photo(content, data, gallery.nextMtime())
            }
            "touch" -> gallery.photos.getValue(target.asString).let {
                it.mtimeNs += if (event["same_second"]?.asBoolean == true) 1_000L else 2_000_000_000L
            }
            "move" -> gallery.photos[event["to"].asString] = gallery.photos.remove(target.asString)
                ?: throw NoSuchElementException(target.asString)
            "delete" -> gallery.photos.remove(target.asString) ?: throw NoSuchElementException(target.asString)
            "unreadable", "readable" -> gallery.photos.getValue(target.asString).readable = kind == "readable"
            "cloud" -> gallery.photos.getValue(target.asString).cloud = event["only"]?.asBoolean ?: true
            "root_gone", "root_back" -> gallery.gone = kind == "root_gone"
            "partial_access", "full_access" -> gallery.partial = kind == "partial_access"
            "days" -> gallery.clock = gallery.clock.plusDays(target.asLong)
            "crash_on" -> gallery.crash.add(target.asString)
            "forget_facts" -> gallery.forgetFacts = true
        }
    }

    private fun runStep(dbFile: File, gallery: Gallery, run: Map<String, JsonElement>, where: String): JsonObject {
        val modelName = run.getValue("model").asString
        val model = models[modelName] ?: throw ScenarioError("$where: unknown model '$modelName'")
        val books = run.getValue("codebooks").takeUnless { it.isJsonNull }?.asString?.let { codebooks.getValue(it) }
        gallery.spec = model.preprocess
        val binding = Binding(model.fingerprint, model.dim, model.preprocessSha256, model.precision, books?.first,
            books?.second, gallery.root, run.getValue("bundle").asString, run.getValue("backend").asString)
        val replay = Replay(model, run.getValue("kill_after_batches").takeUnless { it.isJsonNull }?.asInt)
        var outcome = "ok"
        var report: SyncReport? = null
        val generation: Long
        JdbcDriver(dbFile).use { db ->
            val store = EmbeddingStore.open(db)
            if (gallery.forgetFacts) { // as a store of schema version 1 is after its migration: no row has facts (R22)
                store.forgetFacts()
                gallery.forgetFacts = false
            }
            generation = store.generation()
            try {
                val retry = bindStore(store, binding, run.getValue("reindex").asBoolean)
                report = LibraryIndexer(store, model.fingerprint, books?.first, gallery::now).run(gallery, replay,
                    IndexOptions(run.getValue("batch_size").asInt, run.getValue("allow_empty").asBoolean,
                        run.getValue("retry_errors").asBoolean || retry))
            } catch (e: Killed) {
                outcome = "killed"
            } catch (e: ModelMismatch) {
                outcome = "ModelMismatch"
            } catch (e: RootUnavailable) {
                outcome = "RootUnavailable"
            }
        }
        return snapshot(dbFile, outcome, report, replay.embedded, generation)
    }

    private fun snapshot(dbFile: File, outcome: String, report: SyncReport?, embedded: List<String>, before: Long): JsonObject =
        JdbcDriver(dbFile).use { db ->
            val store = EmbeddingStore.open(db)
            val meta = store.meta()
            val withVector = store.idsWithVector(meta[StoreSchema.Meta.MODEL_FINGERPRINT] ?: "")
            val coded = store.idsWithCode()
            JsonObject().apply {
                addProperty("outcome", outcome)
                add("report", report?.let { r ->
                    val values = listOf(r.embedded, r.unchanged, r.moved, r.touched, r.restored, r.errors, r.deleted,
                        r.skippedErrors, r.withheld, r.purged, r.factsFilled)
                    JsonObject().also { o -> REPORT.zip(values).forEach { (k, v) -> o.addProperty(k, v) } }
                } ?: JsonNull.INSTANCE)
                add("embedded", JsonArray().also { a -> embedded.sorted().forEach(a::add) })
                add("photos", JsonArray().also { a ->
                    store.photos().values.sortedBy { it.path }.forEach { row ->
                        a.add(JsonObject().apply {
                            addProperty("path", row.path); addProperty("status", row.status)
                            addProperty("hash", row.contentHash)
                            addProperty("vector", row.id in withVector); addProperty("code", row.id in coded)
                            addProperty("error", row.error?.let {
                                if (it.startsWith(PhotoUnavailable.UNAVAILABLE)) "environment" else "content" })
                            add("facts", JsonObject().also { o ->
                                PhotoFacts.COLUMNS.zip(row.facts.values()).forEach { (column, value) ->
                                    o.add(column, when (value) {
                                        null -> JsonNull.INSTANCE
                                        is Double -> JsonPrimitive(value)
                                        else -> JsonPrimitive(value as String)
                                    })
                                }
                            })
                        })
                    }
                })
                add("meta", JsonObject().also { o -> META.forEach { k -> meta[k]?.let { o.addProperty(k, it) } } })
                addProperty("generation_changed", store.generation() != before)
            }
        }

    private fun fact(photo: JsonObject, column: String): JsonElement =
        photo["facts"]?.takeIf { it.isJsonObject }?.asJsonObject?.get(column) ?: JsonNull.INSTANCE

    /** Numbers (latitude, longitude) within LOCATION_TOLERANCE; strings exactly; null only for null. */
    private fun sameFact(want: JsonElement, have: JsonElement): Boolean {
        if (want.isJsonPrimitive && have.isJsonPrimitive && want.asJsonPrimitive.isNumber && have.asJsonPrimitive.isNumber) {
            return Math.abs(want.asDouble - have.asDouble) <= LOCATION_TOLERANCE
        }
        return want == have
    }

    /** The first thing that differs, in the order the reference's runner checks a step. */
    private fun firstDifference(expected: JsonObject, got: JsonObject): String? {
        fun diff(what: String, want: JsonElement?, have: JsonElement?) = "$what: expected $want, got $have"
        expected["outcome"]?.let { if (it != got["outcome"]) return diff("outcome", it, got["outcome"]) }
        expected["report"]?.let { want ->
            val have = got["report"]
            if (want != have) {
                if (want.isJsonObject && have.isJsonObject) {
                    val key = REPORT.first { want.asJsonObject[it] != have.asJsonObject[it] }
                    return diff("report $key", want.asJsonObject[key], have.asJsonObject[key])
                }
                return diff("report", want, have)
            }
        }
        expected["embedded"]?.let { if (it != got["embedded"]) return diff("embedded", it, got["embedded"]) }
        expected["photos"]?.let { want ->
            val wanted = want.asJsonArray.associate { it.asJsonObject["path"].asString to it.asJsonObject }
            val had = got["photos"].asJsonArray.associate { it.asJsonObject["path"].asString to it.asJsonObject }
            for (path in (wanted.keys + had.keys).sorted()) {
                val w = wanted[path] ?: return diff("photo $path", null, had[path])
                val h = had[path] ?: return diff("photo $path", w, null)
                for (column in listOf("status", "hash", "vector", "code", "error")) {
                    if ((w[column] ?: JsonNull.INSTANCE) != (h[column] ?: JsonNull.INSTANCE)) {
                        return diff("photo $path $column", w[column], h[column])
                    }
                }
                for (column in PhotoFacts.COLUMNS) {
                    val wanted = fact(w, column)
                    val had = fact(h, column)
                    if (!sameFact(wanted, had)) return diff("photo $path $column", wanted, had)
                }
            }
        }
        expected["meta"]?.let { want ->
            val have = got["meta"].asJsonObject
            for (key in (want.asJsonObject.keySet() + have.keySet()).sorted()) {
                if (want.asJsonObject[key] != have[key]) return diff("meta $key", want.asJsonObject[key], have[key])
            }
        }
        expected["generation_changed"]?.let {
            if (it != got["generation_changed"]) return diff("generation_changed", it, got["generation_changed"])
        }
        return null
    }
}

/** `jvm-test.sh --scenarios DIR [--json]`: one line per scenario (or a JSON report); exit 1 on a failure. */
object ConformanceMain {
    @JvmStatic
    fun main(args: Array<String>) {
        val folder = args.getOrNull(args.indexOf("--scenarios") + 1)?.takeIf { "--scenarios" in args }
        if (folder == null) { System.err.println("usage: --scenarios DIR [--json]"); kotlin.system.exitProcess(2) }
        val results = try { ConformanceRunner(File(folder)).runAll() } catch (e: ScenarioError) {
            System.err.println("Error: ${e.message}"); kotlin.system.exitProcess(1)
        }
        val passed = results.count { it.passed }
        if ("--json" in args) {
            val out = JsonObject().apply {
                addProperty("runner", "kotlin"); addProperty("passed", passed); addProperty("failed", results.size - passed)
                add("scenarios", JsonArray().also { a -> results.forEach { r -> a.add(JsonObject().apply {
                    addProperty("scenario", r.scenario); addProperty("steps", r.steps); addProperty("passed", r.passed)
                    addProperty("difference", r.difference) }) } })
            }
            println(out)
        } else {
            results.forEach { println("${if (it.passed) "pass" else "FAIL"} ${it.scenario} (${it.steps} steps)" +
                (it.difference?.let { d -> ": $d" } ?: "")) }
            println("$passed passed, ${results.size - passed} failed")
        }
        kotlin.system.exitProcess(if (passed == results.size) 0 else 1)
    }
}

// Where the tests' inputs are: environment variables (or -D system properties) set by the pytest driver.
package org.pocketclip.core

import org.junit.jupiter.api.Assertions.fail
import java.io.File

object TestInputs {
    private fun setting(name: String): String? = System.getProperty(name) ?: System.getenv(name)

    private fun required(name: String, what: String): File =
        setting(name)?.let(::File) ?: fail("set $name to $what (tests/apps/test_android_core.py does)")

    /** The bundle under test (POCKETCLIP_BUNDLE). */
    val bundle: File by lazy { required("POCKETCLIP_BUNDLE", "an exported bundle folder") }
    val manifest: Manifest by lazy { Manifest.load(bundle) }
    val golden: Golden by lazy { Golden(manifest) }

    /** The same model exported with 4-bit codebooks (32 x 16, packed nibbles) and their golden codes. */
    val pq4Bundle: File by lazy { required("POCKETCLIP_PQ4_BUNDLE", "a bundle exported with 4-bit codebooks") }
    val pq4Manifest: Manifest by lazy { Manifest.load(pq4Bundle) }
    val pq4Golden: Golden by lazy { Golden(pq4Manifest) }

    /** A store runtime/store/store.py wrote, holding the golden gallery's image embeddings in order. */
    val pythonStore: File by lazy { required("POCKETCLIP_PY_STORE", "a store written by runtime.store") }
    val outStore: File by lazy { required("POCKETCLIP_OUT_STORE", "where the Kotlin store goes") }
    val outReport: File by lazy { required("POCKETCLIP_OUT_REPORT", "where the device report goes") }
    /** The indexing scenarios (runtime/indexing/scenarios), run by ConformanceTest. */
    val scenarios: File by lazy { required("POCKETCLIP_SCENARIOS", "the conformance scenario folder") }
    /**
     * The offline places (runtime/facts/places.tsv.gz): POCKETCLIP_PLACES (jvm-test.sh sets it), else the file
     * found from the working directory upwards. Read once (~1 s).
     */
    val places: Places by lazy {
        val file = setting("POCKETCLIP_PLACES")?.let(::File) ?: generateSequence(File("").absoluteFile) { it.parentFile }
            .map { File(it, "runtime/facts/places.tsv.gz") }.firstOrNull { it.isFile }
        require(file != null && file.isFile) { "set POCKETCLIP_PLACES to runtime/facts/places.tsv.gz (jvm-test.sh does)" }
        file.inputStream().use { Places.read(it) }
    }
    /** Where ManifestTest writes the manifest values it parsed (JSON), which the pytest compares with manifest.json. */
    val outManifest: File by lazy { required("POCKETCLIP_OUT_MANIFEST", "where the parsed manifest values go") }
}

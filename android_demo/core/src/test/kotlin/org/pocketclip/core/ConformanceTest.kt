package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import java.io.File

/** The shared indexing scenarios (POCKETCLIP_SCENARIOS, the reference's own files) on this core. */
class ConformanceTest {
    private val folder: File get() = TestInputs.scenarios

    @Test
    fun everyScenarioPasses() {
        val results = ConformanceRunner(folder).runAll()
        assertTrue(results.size >= 30, "${results.size} scenarios")
        val failed = results.filter { !it.passed }
        assertTrue(failed.isEmpty(), failed.joinToString("\n") { "${it.scenario}: ${it.difference}" })
    }

    @Test
    fun anAlteredExpectationFailsNamingScenarioStepAndDifference(@TempDir tmp: File) {
        folder.copyRecursively(tmp, overwrite = true)
        val file = File(tmp, "09-restore-same-path.json")
        file.writeText(file.readText().replaceFirst("\"restored\": 1", "\"restored\": 0"))
        val result = ConformanceRunner(tmp).run(file)
        assertFalse(result.passed)
        assertEquals("restore-same-path: step 3 (restore): report restored: expected 0, got 1", result.difference)
    }

    @Test
    fun contentHashIsBlake2bOfTheBytes() {
        // Python: hashlib.blake2b(b"", digest_size=16) and of 1,000 bytes crossing the 128-byte blocks.
        assertEquals("cae66941d9efbd404e4d88758ea67670", Blake2b.contentHash(ByteArray(0)))
        val bytes = ByteArray(1000) { (it % 251).toByte() }
        assertEquals("bca120dfd89cd95d82898473a5b01c90", Blake2b.contentHash(bytes))
        assertEquals("bca120dfd89cd95d82898473a5b01c90", Blake2b.contentHash(bytes.inputStream()))
    }
}

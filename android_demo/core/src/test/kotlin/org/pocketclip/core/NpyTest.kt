package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.math.abs
import kotlin.math.sqrt

class NpyTest {
    @Test
    fun readsEveryGoldenArray() {
        val golden = TestInputs.golden
        val m = TestInputs.manifest
        val s = m.preprocess.size
        val d = m.embedDim
        val names = m.files.keys.filter { it.startsWith("golden/") && it.endsWith(".npy") }.map { it.removePrefix("golden/") }
        assertTrue(names.size >= 8, "golden arrays: $names")
        for (name in names) {
            val a = golden.array(name)
            when (name) {
                "pixels.npy" -> { assertEquals("<f4", a.dtype); assertEquals(listOf(golden.images.size, 3, s, s), a.shape.toList()) }
                "ids.npy" -> { assertEquals("<i8", a.dtype); assertEquals(listOf(golden.texts.size, 77), a.shape.toList()) }
                "gallery_ids.npy" -> assertEquals(listOf(77), a.shape.drop(1))
                "gallery_squares.npy" -> { assertEquals("|u1", a.dtype); assertEquals(listOf(s, s, 3), a.shape.drop(1)) }
                "pq_codes.npy" -> assertEquals("|u1", a.dtype)
                "pq_top10.npy", "exact_top10.npy" -> { assertEquals("<i4", a.dtype); assertEquals(10, a.shape[1]) }
            }
            if (name.endsWith("embeddings.npy")) {
                assertEquals("<f4", a.dtype)
                assertEquals(d, a.shape[1])
                for (row in a.floatRows()) { // the references are L2-normalised
                    val norm = sqrt(row.sumOf { it.toDouble() * it })
                    assertTrue(abs(norm - 1) < 1e-5, "$name: norm $norm")
                }
            }
            val values = when (a.dtype) { "<f4", "<f2" -> a.floats().size; "<i8" -> a.longs().size; else -> a.ints().size }
            assertEquals(a.size, values)
        }
        val ids = golden.array("ids.npy").longs()
        assertEquals(m.text.sotId.toLong(), ids[0]) // row 0 starts with the start token
    }

    @Test
    fun readsVersion2HeadersAndFloat16() {
        val header = "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }".padEnd(116) + "\n"
        val data = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
            .putShort(0x3c00).putShort(0xc000.toShort()).putShort(0x7c00).putShort(0x3555).array()
        val bytes = byteArrayOf(0x93.toByte(), 'N'.code.toByte(), 'U'.code.toByte(), 'M'.code.toByte(), 'P'.code.toByte(),
            'Y'.code.toByte(), 2, 0) + ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(header.length).array() +
            header.toByteArray() + data
        val a = NpyArray.parse(bytes)
        assertEquals(listOf(2, 2), a.shape.toList())
        assertArrayEquals(floatArrayOf(1f, -2f, Float.POSITIVE_INFINITY, 0.33325195f), a.floats())
        assertThrows(NpyError::class.java) { NpyArray.parse(bytes.copyOf(bytes.size - 1)) } // truncated data
        val bigEndian = String(bytes, Charsets.ISO_8859_1).replace("'<f2'", "'>f2'").toByteArray(Charsets.ISO_8859_1)
        assertThrows(NpyError::class.java) { NpyArray.parse(bigEndian) }
    }
}

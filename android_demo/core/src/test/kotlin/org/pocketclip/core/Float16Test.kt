package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import kotlin.math.abs

class Float16Test {
    @Test
    fun roundTripsLikeNumpy() {
        val embeddings = TestInputs.golden.array("gallery_image_embeddings.npy").floatRows()
        val blobs = JdbcDriver(TestInputs.pythonStore).use { db ->
            db.query("SELECT e.vector FROM embeddings e JOIN photos p ON p.id = e.photo_id ORDER BY p.id").map { it[0] as ByteArray }
        }
        assertEquals(embeddings.size, blobs.size, "the Python store holds the golden gallery")
        embeddings.forEachIndexed { i, v ->
            val encoded = Float16.encode(v)
            assertArrayEquals(blobs[i], encoded, "row $i: float16 bytes differ from numpy's astype('<f2')")
            val decoded = Float16.decode(encoded)
            for (d in v.indices) assertTrue(abs(decoded[d] - v[d]) <= abs(v[d]) / 2048 + 1e-7f)
            assertArrayEquals(encoded, Float16.encode(decoded)) // float16 -> float32 -> float16 is exact
        }
    }

    @Test
    fun specialValues() {
        // numpy: np.array(VALUES, dtype=np.float32).astype('<f2').view('<u2')
        val cases = listOf(
            0f to 0x0000, -0f to 0x8000, 1f to 0x3c00, 65504f to 0x7bff, 65519.99f to 0x7bff, 65520f to 0x7c00,
            1e9f to 0x7c00, Float.NEGATIVE_INFINITY to 0xfc00, Float.POSITIVE_INFINITY to 0x7c00,
            5.9604645e-8f to 0x0001, 2.9802322e-8f to 0x0000, 4.4703484e-8f to 0x0001, 2.9802326e-8f to 0x0001,
            1.0004883f to 0x3c00, 1.0014648f to 0x3c02, 0.1f to 0x2e66, -2.5e-5f to 0x81a3, 6.1e-5f to 0x03ff,
            Float.NaN to 0x7e00,
        )
        for ((value, bits) in cases) assertEquals(bits, Float16.fromFloat(value).toInt() and 0xffff, "float16($value)")
        assertEquals(65504f, Float16.toFloat(0x7bff))
        assertEquals(5.9604645e-8f, Float16.toFloat(0x0001))
        assertEquals(6.097555e-5f, Float16.toFloat(0x03ff))
        assertTrue(Float16.toFloat(0x7e00).isNaN())
        assertEquals(Float.NEGATIVE_INFINITY, Float16.toFloat(0xfc00.toShort()))
        assertEquals(-0f, Float16.toFloat(0x8000.toShort()))
        assertTrue(1f / Float16.toFloat(0x8000.toShort()) < 0) // negative zero keeps its sign
        for (h in 0 until 0x10000) { // every non-NaN half survives a round trip through float32
            val f = Float16.toFloat(h.toShort())
            if (!f.isNaN()) assertEquals(h, Float16.fromFloat(f).toInt() and 0xffff, "half 0x${h.toString(16)}")
        }
    }
}

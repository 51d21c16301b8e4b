// Little-endian float16 blobs, the store's vector format.
// Hand-written: Float.floatToFloat16 needs Java 20 / Android API 35+, and the rounding must be
// numpy's (round to nearest, ties to even; overflow to infinity; NaN kept NaN) bit for bit.
package org.pocketclip.core

object Float16 {
    /** float32 -> float16 bits, as numpy's npy_floatbits_to_halfbits. */
    fun fromFloat(value: Float): Short {
        val f = java.lang.Float.floatToRawIntBits(value)
        val sign = (f ushr 16) and 0x8000
        val exp = f and 0x7f800000
        if (exp >= 0x47800000) { // overflow, infinity or NaN
            if (exp == 0x7f800000) {
                val sig = f and 0x007fffff
                if (sig != 0) { // NaN: keep the top payload bits, never turn it into infinity
                    var nan = 0x7c00 + (sig ushr 13)
                    if (nan == 0x7c00) nan++
                    return (sign + nan).toShort()
                }
            }
            return (sign + 0x7c00).toShort()
        }
        if (exp <= 0x38000000) { // the result is subnormal or zero
            if (exp < 0x33000000) return sign.toShort()
            val e = exp ushr 23
            var sig = 0x00800000 + (f and 0x007fffff)
            sig = sig ushr (113 - e)
            // round to nearest even: add half an ulp unless exactly a tie on an even value
            if ((sig and 0x3fff) != 0x1000 || (f and 0x7ff) != 0) sig += 0x1000
            return (sign + (sig ushr 13)).toShort()
        }
        val halfExp = (exp - 0x38000000) ushr 13
        var sig = f and 0x007fffff
        if ((sig and 0x3fff) != 0x1000) sig += 0x1000
        // a carry out of the significand correctly bumps the exponent (up to infinity)
        return (sign + halfExp + (sig ushr 13)).toShort()
    }

    /** float16 bits -> float32 (exact). */
    fun toFloat(bits: Short): Float {
        val h = bits.toInt() and 0xffff
        val sign = (h and 0x8000) shl 16
        val exp = (h ushr 10) and 0x1f
        val sig = h and 0x3ff
        val f = when (exp) {
            0 -> {
                if (sig == 0) return java.lang.Float.intBitsToFloat(sign)
                var e = 113 // normalise a subnormal half into a normal float
                var m = sig
                while (m and 0x400 == 0) { m = m shl 1; e-- }
                sign or (e shl 23) or ((m and 0x3ff) shl 13)
            }
            0x1f -> sign or 0x7f800000 or (sig shl 13)
            else -> sign or ((exp + 112) shl 23) or (sig shl 13)
        }
        return java.lang.Float.intBitsToFloat(f)
    }

    /** A vector as a little-endian float16 blob (numpy: `np.asarray(v, dtype="<f2").tobytes()`). */
    fun encode(vector: FloatArray): ByteArray {
        val out = ByteArray(vector.size * 2)
        for (i in vector.indices) {
            val h = fromFloat(vector[i]).toInt()
            out[2 * i] = h.toByte()
            out[2 * i + 1] = (h ushr 8).toByte()
        }
        return out
    }

    fun decode(blob: ByteArray): FloatArray {
        require(blob.size % 2 == 0) { "a float16 blob has an even number of bytes, got ${blob.size}" }
        return FloatArray(blob.size / 2) { i ->
            toFloat(((blob[2 * i].toInt() and 0xff) or ((blob[2 * i + 1].toInt() and 0xff) shl 8)).toShort())
        }
    }
}

// NumPy .npy reader for the bundle's golden/ and pq/ arrays.
// Hand-written: the format is a short text header plus raw little-endian data, and no JVM or
// Android library reads it without pulling in a numerics stack.
package org.pocketclip.core

import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

class NpyError(message: String) : Exception(message)

/** One array: its shape, its dtype ("<f4", "<f2", "<i8", "<i4", "|u1") and its C-order data. */
class NpyArray(val shape: IntArray, val dtype: String, private val data: ByteBuffer) {
    val size: Int get() = shape.fold(1) { a, b -> a * b }

    fun floats(): FloatArray = when (dtype) {
        "<f4" -> FloatArray(size).also { data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(it) }
        "<f2" -> Float16.decode(bytes())
        else -> throw NpyError("array is $dtype, not a float array")
    }

    fun longs(): LongArray = when (dtype) {
        "<i8" -> LongArray(size).also { data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(it) }
        "<i4" -> ints().let { ints -> LongArray(ints.size) { ints[it].toLong() } }
        else -> throw NpyError("array is $dtype, not an integer array")
    }

    fun ints(): IntArray = when (dtype) {
        "<i4" -> IntArray(size).also { data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(it) }
        "<i8" -> longs().let { longs -> IntArray(longs.size) { Math.toIntExact(longs[it]) } }
        "|u1" -> bytes().let { b -> IntArray(b.size) { b[it].toInt() and 0xFF } }
        else -> throw NpyError("array is $dtype, not an integer array")
    }

    /** The raw data bytes (for uint8 arrays: the values). */
    fun bytes(): ByteArray = ByteArray(data.remaining()).also { data.duplicate().get(it) }

    /** Rows of a 2-D float array. */
    fun floatRows(): Array<FloatArray> {
        require(shape.size == 2) { "expected a 2-D array, got shape ${shape.contentToString()}" }
        val all = floats()
        return Array(shape[0]) { r -> all.copyOfRange(r * shape[1], (r + 1) * shape[1]) }
    }

    companion object {
        private val MAGIC = byteArrayOf(0x93.toByte(), 'N'.code.toByte(), 'U'.code.toByte(), 'M'.code.toByte(),
            'P'.code.toByte(), 'Y'.code.toByte())
        private val ITEM_SIZE = mapOf("<f4" to 4, "<f2" to 2, "<i8" to 8, "<i4" to 4, "|u1" to 1, "<u1" to 1)
        private val DESCR = Regex("""'descr'\s*:\s*'([^']+)'""")
        private val FORTRAN = Regex("""'fortran_order'\s*:\s*(True|False)""")
        private val SHAPE = Regex("""'shape'\s*:\s*\(([^)]*)\)""")

        fun read(file: File): NpyArray = try {
            parse(file.readBytes())
        } catch (e: NpyError) {
            throw NpyError("$file: ${e.message}")
        }

        fun parse(bytes: ByteArray): NpyArray {
            if (bytes.size < 10 || !bytes.copyOfRange(0, 6).contentEquals(MAGIC)) throw NpyError("not a .npy file")
            val major = bytes[6].toInt()
            val buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
            val (headerLength, headerStart) = when (major) {
                1 -> (buffer.getShort(8).toInt() and 0xFFFF) to 10
                2, 3 -> buffer.getInt(8) to 12
                else -> throw NpyError("npy format version $major is not supported")
            }
            val header = String(bytes, headerStart, headerLength, if (major == 3) Charsets.UTF_8 else Charsets.ISO_8859_1)
            val descr = DESCR.find(header)?.groupValues?.get(1) ?: throw NpyError("header has no descr: $header")
            val dtype = if (descr == "<u1") "|u1" else descr
            val itemSize = ITEM_SIZE[descr] ?: throw NpyError("dtype $descr is not supported (little-endian f4, f2, i8, i4, u1)")
            if (FORTRAN.find(header)?.groupValues?.get(1) != "False") throw NpyError("only C-order arrays are supported")
            val shapeText = SHAPE.find(header)?.groupValues?.get(1) ?: throw NpyError("header has no shape: $header")
            val shape = shapeText.split(',').map { it.trim() }.filter { it.isNotEmpty() }.map { it.toInt() }.toIntArray()
            val dataStart = headerStart + headerLength
            val count = shape.fold(1L) { a, b -> a * b }
            if (bytes.size - dataStart.toLong() != count * itemSize) {
                throw NpyError("data holds ${bytes.size - dataStart} bytes, shape ${shape.contentToString()} of $descr needs ${count * itemSize}")
            }
            return NpyArray(shape, dtype, ByteBuffer.wrap(bytes, dataStart, bytes.size - dataStart).slice())
        }
    }
}

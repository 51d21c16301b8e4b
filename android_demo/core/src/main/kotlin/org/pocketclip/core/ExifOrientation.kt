// The EXIF orientation tag (0x0112) of a JPEG file.
// Hand-written: javax.imageio ignores EXIF and androidx.exifinterface is Android-only; the tag is one
// entry of the first IFD of the APP1 segment, so a ~40-line reader keeps the core platform-free.
package org.pocketclip.core

import java.nio.ByteBuffer
import java.nio.ByteOrder

object ExifOrientation {
    /** 1..8 from the JPEG's EXIF block; 1 (upright) when there is none or it is malformed. */
    fun ofJpeg(bytes: ByteArray): Int {
        if (bytes.size < 4 || (bytes[0].toInt() and 0xff) != 0xff || (bytes[1].toInt() and 0xff) != 0xd8) return 1
        var pos = 2
        while (pos + 4 <= bytes.size) {
            if ((bytes[pos].toInt() and 0xff) != 0xff) return 1
            val marker = bytes[pos + 1].toInt() and 0xff
            if (marker == 0xd9 || marker == 0xda) return 1 // end of image / start of scan: no EXIF before the data
            val length = ((bytes[pos + 2].toInt() and 0xff) shl 8) or (bytes[pos + 3].toInt() and 0xff)
            if (marker == 0xe1 && length >= 8 && String(bytes, pos + 4, 4, Charsets.ISO_8859_1) == "Exif") {
                return ofTiff(bytes, pos + 10, minOf(bytes.size, pos + 2 + length)) ?: 1
            }
            pos += 2 + length
        }
        return 1
    }

    private fun ofTiff(bytes: ByteArray, start: Int, end: Int): Int? {
        if (end - start < 8) return null
        val order = when (String(bytes, start, 2, Charsets.ISO_8859_1)) {
            "II" -> ByteOrder.LITTLE_ENDIAN
            "MM" -> ByteOrder.BIG_ENDIAN
            else -> return null
        }
        val b = ByteBuffer.wrap(bytes, start, end - start).slice().order(order)
        val ifd = b.getInt(4)
        if (ifd < 8 || ifd + 2 > b.limit()) return null
        val count = b.getShort(ifd).toInt() and 0xffff
        for (i in 0 until count) {
            val entry = ifd + 2 + i * 12
            if (entry + 12 > b.limit()) return null
            if ((b.getShort(entry).toInt() and 0xffff) == 0x0112) {
                val value = b.getShort(entry + 8).toInt() and 0xffff
                return if (value in 1..8) value else null
            }
        }
        return null
    }
}

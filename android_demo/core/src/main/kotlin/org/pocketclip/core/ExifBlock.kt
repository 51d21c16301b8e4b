// The EXIF block of a photo's bytes and the entries of its IFDs, found and read as runtime/facts/photo_facts.py's
// Pillow finds and reads them (docs/contracts.md, "Photo facts"): JPEG's APP1 `Exif\0\0` segment, PNG's eXIf chunk,
// WebP's EXIF chunk, a TIFF's (DNG's, NEF's, ...) own IFD0, HEIC's and AVIF's Exif item. A broken block gives what
// could be read before the break, never an exception.
package org.pocketclip.core

/** One IFD entry: its TIFF type and its value's bytes (count x the type's size), in the block's byte order. */
class ExifEntry(val type: Int, val count: Long, val data: ByteArray, private val bigEndian: Boolean) {
    companion object {
        const val BYTE = 1
        const val ASCII = 2
        const val RATIONAL = 5
        const val UNDEFINED = 7
        const val SRATIONAL = 10
        private val INTEGER_SIZES = mapOf(3 to 2, 4 to 4, 6 to 1, 8 to 2, 9 to 4, 13 to 4, 16 to 8)
        private val SIGNED = setOf(6, 8, 9)

        /** Bytes per value of each type Pillow reads; an entry of another type is skipped. */
        val SIZES: Map<Int, Int> = INTEGER_SIZES + mapOf(BYTE to 1, ASCII to 1, RATIONAL to 8, UNDEFINED to 1,
            SRATIONAL to 8, 11 to 4, 12 to 8)
    }

    /** The bytes of a text value: ASCII, BYTE and UNDEFINED entries (Pillow hands those over as text or bytes). */
    fun bytes(): ByteArray? = if (type == ASCII || type == BYTE || type == UNDEFINED) data else null

    /** The values of an integer entry (SHORT, LONG, SBYTE, SSHORT, SLONG, IFD, LONG8), else null. */
    fun integers(): LongArray? {
        val size = INTEGER_SIZES[type] ?: return null
        return LongArray(data.size / size) { i ->
            val v = number(i * size, size)
            if (type in SIGNED) (v shl (64 - 8 * size)) shr (64 - 8 * size) else v
        }
    }

    /** The (numerator, denominator) pairs of a RATIONAL or SRATIONAL entry, else null. */
    fun rationals(): List<Pair<Long, Long>>? {
        if (type != RATIONAL && type != SRATIONAL) return null
        return (0 until data.size / 8).map { i ->
            val num = number(i * 8, 4)
            val den = number(i * 8 + 4, 4)
            if (type == SRATIONAL) num.toInt().toLong() to den.toInt().toLong() else num to den
        }
    }

    private fun number(at: Int, size: Int): Long {
        var v = 0L
        for (k in 0 until size) {
            val b = data[at + (if (bigEndian) k else size - 1 - k)].toLong() and 0xff
            v = (v shl 8) or b
        }
        return v
    }
}

/** A TIFF structure (an EXIF block, or a TIFF file itself): a header and IFDs at offsets from its first byte. */
class ExifBlock private constructor(private val bytes: ByteArray) {
    private val bigEndian = bytes[0] == 'M'.code.toByte()
    private val size: Long = bytes.size.toLong()

    companion object {
        private val EXIF_HEADER = "Exif\u0000\u0000".toByteArray(Charsets.ISO_8859_1)
        // Pillow's classic TIFF headers (BigTIFF is not read: no camera writes one into an EXIF block)
        private val HEADERS = listOf("II*\u0000", "MM\u0000*", "MM*\u0000", "II\u0000*").map { it.toByteArray(Charsets.ISO_8859_1) }

        /** The EXIF block of a photo's bytes, or null (none, or not a TIFF structure). */
        fun of(bytes: ByteArray): ExifBlock? {
            if (HEADERS.any { startsWith(bytes, 0, it) }) return tiff(bytes) // a TIFF, DNG, NEF, CR2...: its own IFD0
            return ExifContainers.exifPayload(bytes)?.let(::ofPayload)
        }

        /** An EXIF payload as Pillow's Exif.load takes it: up to two `Exif\0\0` prefixes dropped, then a TIFF header. */
        fun ofPayload(payload: ByteArray): ExifBlock? {
            var at = 0
            repeat(2) { if (startsWith(payload, at, EXIF_HEADER)) at += 6 }
            return tiff(if (at == 0) payload else payload.copyOfRange(at, payload.size))
        }

        private fun tiff(bytes: ByteArray): ExifBlock? =
            if (bytes.size >= 8 && HEADERS.any { startsWith(bytes, 0, it) }) ExifBlock(bytes) else null

        fun startsWith(bytes: ByteArray, at: Int, prefix: ByteArray): Boolean =
            at >= 0 && at + prefix.size <= bytes.size && prefix.indices.all { bytes[at + it] == prefix[it] }
    }

    private fun u(at: Long, n: Int): Long {
        var v = 0L
        for (k in 0 until n) v = (v shl 8) or (bytes[(at + if (bigEndian) k else n - 1 - k).toInt()].toLong() and 0xff)
        return v
    }

    /** IFD0's offset, from the header. */
    val first: Long get() = u(4, 4)

    /**
     * The entries of the IFD at `offset`, as Pillow's ImageFileDirectory_v2.load reads them: the first of a
     * repeated tag; an entry of an unknown type or of no values skipped; one whose values would add up past the
     * block's size skipped; one whose values lie past the block's end ends the IFD (the entries before it kept).
     */
    fun ifd(offset: Long): Map<Int, ExifEntry> {
        val found = LinkedHashMap<Int, ExifEntry>()
        if (offset < 0 || offset + 2 > size) return found
        val count = u(offset, 2).toInt()
        var pos = offset + 2
        var total = 0L
        for (i in 0 until count) {
            if (pos + 12 > size) break
            val tag = u(pos, 2).toInt()
            val type = u(pos + 2, 2).toInt()
            val values = u(pos + 4, 4)
            val inline = pos + 8
            pos += 12
            if (tag in found) continue
            val unit = ExifEntry.SIZES[type] ?: continue
            val length = values * unit
            val at = if (length > 4) u(inline, 4) else inline
            if (length > 4) {
                total += length
                if (total > size) continue
                if (at + length > size) break
            } else if (length == 0L) {
                continue
            }
            found[tag] = ExifEntry(type, values, bytes.copyOfRange(at.toInt(), (at + length).toInt()), bigEndian)
        }
        return found
    }
}

/** Where each container keeps its EXIF payload. */
private object ExifContainers {
    private fun ascii(text: String) = text.toByteArray(Charsets.ISO_8859_1)
    private val PNG = byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte(), 13, 10, 26, 10)
    private val EXIF = ascii("Exif\u0000\u0000")

    fun exifPayload(b: ByteArray): ByteArray? = when {
        b.size >= 3 && b[0] == 0xff.toByte() && b[1] == 0xd8.toByte() && b[2] == 0xff.toByte() -> jpeg(b)
        ExifBlock.startsWith(b, 0, PNG) -> png(b)
        ExifBlock.startsWith(b, 0, ascii("RIFF")) && ExifBlock.startsWith(b, 8, ascii("WEBP")) -> webp(b)
        ExifBlock.startsWith(b, 4, ascii("ftyp")) -> IsoBmff(b).exif()
        else -> null
    }

    fun u16(b: ByteArray, at: Int) = ((b[at].toInt() and 0xff) shl 8) or (b[at + 1].toInt() and 0xff)
    fun u32(b: ByteArray, at: Int): Long = (u16(b, at).toLong() shl 16) or u16(b, at + 2).toLong()
    private fun le32(b: ByteArray, at: Int): Long =
        (0 until 4).fold(0L) { v, k -> v or ((b[at + k].toLong() and 0xff) shl (8 * k)) }

    /**
     * The markers up to the start of scan, as Pillow walks them: fill bytes and junk skipped, the first APP1
     * `Exif\0\0` segment kept and the payload of any later one appended to it (a block split over segments).
     */
    private fun jpeg(b: ByteArray): ByteArray? {
        var pos = 2
        var found: java.io.ByteArrayOutputStream? = null
        while (pos + 1 < b.size) {
            if (b[pos] != 0xff.toByte()) { pos++; continue } // junk between segments
            val marker = b[pos + 1].toInt() and 0xff
            if (marker == 0xff) { pos++; continue } // a fill byte
            if (marker == 0x00 || marker == 0xc8 || marker in 0xd0..0xd9 || marker in 0xf0..0xfd) { pos += 2; continue }
            if (marker < 0xc0) break // not a marker Pillow knows: it stops reading
            if (pos + 4 > b.size) break
            val length = maxOf(0, u16(b, pos + 2) - 2)
            val from = pos + 4
            if (from + length > b.size) break
            if (marker == 0xe1 && ExifBlock.startsWith(b, from, EXIF) && from + 6 <= from + length) {
                if (found == null) found = java.io.ByteArrayOutputStream().also { it.write(b, from, length) }
                else found.write(b, from + 6, length - 6)
            }
            if (marker == 0xda) break // start of scan: the EXIF block comes before it
            pos = from + length
        }
        return found?.toByteArray()
    }

    /** The last eXIf chunk before the image data, else the last one after it (Pillow reads those on demand). */
    private fun png(b: ByteArray): ByteArray? {
        var pos = 8
        var before: ByteArray? = null
        var after: ByteArray? = null
        var inData = false
        while (pos + 8 <= b.size) {
            val length = u32(b, pos)
            val type = String(b, pos + 4, 4, Charsets.ISO_8859_1)
            val from = pos + 8
            if (from + length > b.size || type == "IEND") break
            if (type == "IDAT") inData = true
            if (type == "eXIf") {
                val chunk = b.copyOfRange(from, (from + length).toInt())
                if (inData) after = chunk else before = chunk
            }
            pos = (from + length + 4).toInt() // and its CRC
        }
        return before ?: after
    }

    /** The first EXIF chunk of an extended (VP8X) WebP, as libwebp's demuxer gives it. */
    private fun webp(b: ByteArray): ByteArray? {
        var pos = 12
        while (pos + 8 <= b.size) {
            val type = String(b, pos, 4, Charsets.ISO_8859_1)
            val length = le32(b, pos + 4)
            val from = pos + 8
            if (from + length > b.size || (pos == 12 && type != "VP8X")) return null
            if (type == "EXIF") return b.copyOfRange(from, (from + length).toInt())
            pos = (from + length + (length and 1)).toInt() // chunks are padded to even sizes
        }
        return null
    }
}

/**
 * The Exif item of a HEIC or AVIF file (ISO/IEC 23008-12): the item of type `Exif` that describes (`cdsc`) the
 * primary item, its extents joined, its 4-byte TIFF header offset skipped as pillow-heif skips it.
 */
private class IsoBmff(private val b: ByteArray) {
    private class Box(val type: String, val from: Int, val to: Int)
    private class Location(val method: Int, val extents: List<Pair<Long, Long>>)

    private fun boxes(from: Int, to: Int): List<Box> {
        val found = ArrayList<Box>()
        var pos = from
        while (pos + 8 <= to) {
            var size = ExifContainers.u32(b, pos)
            var header = 8
            if (size == 1L) {
                if (pos + 16 > to) break
                size = number(pos + 8, 8)
                header = 16
            } else if (size == 0L) {
                size = (to - pos).toLong()
            }
            if (size < header || size > to - pos) break
            found.add(Box(String(b, pos + 4, 4, Charsets.ISO_8859_1), pos + header, (pos + size).toInt()))
            pos += size.toInt()
        }
        return found
    }

    private fun number(at: Int, size: Int): Long {
        var v = 0L
        for (k in 0 until size) v = (v shl 8) or (b[at + k].toLong() and 0xff)
        return v
    }

    fun exif(): ByteArray? = try {
        read()
    } catch (e: IndexOutOfBoundsException) { // a box that claims more than it holds
        null
    }

    private fun read(): ByteArray? {
        val meta = boxes(0, b.size).firstOrNull { it.type == "meta" } ?: return null
        val children = boxes(meta.from + 4, meta.to) // meta is a full box: version and flags first
        val pitm = children.firstOrNull { it.type == "pitm" } ?: return null
        val primary = if (b[pitm.from].toInt() == 0) number(pitm.from + 4, 2) else number(pitm.from + 4, 4)
        val exifItems = children.firstOrNull { it.type == "iinf" }?.let { iinf ->
            val skip = if (b[iinf.from].toInt() == 0) 2 else 4
            boxes(iinf.from + 4 + skip, iinf.to).filter { it.type == "infe" }.mapNotNull { infe ->
                when (b[infe.from].toInt()) {
                    2 -> number(infe.from + 4, 2) to String(b, infe.from + 8, 4, Charsets.ISO_8859_1)
                    3 -> number(infe.from + 4, 4) to String(b, infe.from + 10, 4, Charsets.ISO_8859_1)
                    else -> null
                }
            }.filter { it.second == "Exif" }.map { it.first }
        } ?: return null
        val describes = HashSet<Long>() // items with a cdsc reference to the primary item
        children.firstOrNull { it.type == "iref" }?.let { iref ->
            val idSize = if (b[iref.from].toInt() == 0) 2 else 4
            for (ref in boxes(iref.from + 4, iref.to).filter { it.type == "cdsc" }) {
                val from = number(ref.from, idSize)
                val count = number(ref.from + idSize, 2).toInt()
                if ((0 until count).any { number(ref.from + idSize + 2 + it * idSize, idSize) == primary }) describes.add(from)
            }
        }
        val locations = children.firstOrNull { it.type == "iloc" }?.let(::locations) ?: return null
        val idat = children.firstOrNull { it.type == "idat" }
        for (id in exifItems.filter { it in describes }) {
            val location = locations[id] ?: continue
            val data = java.io.ByteArrayOutputStream()
            for ((offset, length) in location.extents) {
                val base = if (location.method == 1) (idat ?: return null).from.toLong() else 0L
                val end = if (location.method == 1) idat!!.to.toLong() else b.size.toLong()
                val to = if (length == 0L) end else base + offset + length
                if (base + offset < 0 || to > end || base + offset > to) return null
                data.write(b, (base + offset).toInt(), (to - base - offset).toInt())
            }
            val item = data.toByteArray()
            val payload = tiffPart(item)
            if (payload.isNotEmpty()) return payload
        }
        return null
    }

    /** pillow-heif's _retrieve_exif: the bytes after the 4-byte offset and the offset's bytes (an `Exif\0\0` kept). */
    private fun tiffPart(item: ByteArray): ByteArray {
        if (item.size < 4) return ByteArray(0)
        var skip = ExifContainers.u32(item, 0) + 4
        if (item.size - skip <= 4) skip = 4
        else if (skip >= 6 && ExifBlock.startsWith(item, (skip - 6).toInt(), "Exif\u0000\u0000".toByteArray(Charsets.ISO_8859_1))) skip -= 6
        return item.copyOfRange(skip.toInt(), item.size)
    }

    private fun locations(iloc: Box): Map<Long, Location> {
        val version = b[iloc.from].toInt()
        var pos = iloc.from + 4
        val offsetSize = (b[pos].toInt() shr 4) and 15
        val lengthSize = b[pos].toInt() and 15
        val baseSize = (b[pos + 1].toInt() shr 4) and 15
        val indexSize = if (version == 1 || version == 2) b[pos + 1].toInt() and 15 else 0
        pos += 2
        val idSize = if (version < 2) 2 else 4
        val count = number(pos, idSize).toInt()
        pos += idSize
        val found = HashMap<Long, Location>()
        repeat(count) {
            val id = number(pos, idSize)
            pos += idSize
            var method = 0
            if (version == 1 || version == 2) { method = number(pos, 2).toInt() and 15; pos += 2 }
            pos += 2 // data_reference_index
            val base = number(pos, baseSize)
            pos += baseSize
            val extents = number(pos, 2).toInt()
            pos += 2
            val list = (0 until extents).map {
                pos += indexSize
                val offset = number(pos, offsetSize)
                val length = number(pos + offsetSize, lengthSize)
                pos += offsetSize + lengthSize
                base + offset to length
            }
            found.putIfAbsent(id, Location(method, list))
        }
        return found
    }
}

package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.ByteArrayOutputStream
import java.util.zip.CRC32
import kotlin.random.Random

/** An EXIF block built entry by entry, as a camera writes one: IFD0, the Exif IFD and the GPS IFD, then the values. */
class TiffWriter(private val bigEndian: Boolean) {
    class Entry(val tag: Int, val type: Int, val count: Int, val data: ByteArray)

    companion object {
        fun ascii(tag: Int, text: String) = bytes(tag, ExifEntry.ASCII, text.toByteArray(Charsets.UTF_8) + 0)
        fun bytes(tag: Int, type: Int, data: ByteArray) = Entry(tag, type, data.size, data)
    }

    fun rationals(tag: Int, vararg values: Pair<Long, Long>) = Entry(tag, ExifEntry.RATIONAL, values.size,
        values.flatMap { (n, d) -> (number(n, 4) + number(d, 4)).toList() }.toByteArray())

    fun number(v: Long, size: Int) = ByteArray(size) { k -> (v shr (8 * (if (bigEndian) size - 1 - k else k))).toByte() }

    /** The block: IFD0 at 8, pointing to the Exif IFD (0x8769) and the GPS IFD (0x8825) when they have entries. */
    fun build(ifd0: List<Entry>, exif: List<Entry> = emptyList(), gps: List<Entry> = emptyList()): ByteArray {
        val pointer = Entry(0, 4, 1, ByteArray(4))
        val zeroth = ifd0 + listOfNotNull(pointer.takeIf { exif.isNotEmpty() }, pointer.takeIf { gps.isNotEmpty() })
        val ifds = listOf(zeroth, exif, gps).filter { it.isNotEmpty() }
        val starts = ifds.runningFold(8) { at, ifd -> at + 2 + 12 * ifd.size + 4 }
        var data = starts.last()
        val out = ByteArrayOutputStream()
        out.write(if (bigEndian) "MM".toByteArray() else "II".toByteArray())
        out.write(number(42, 2))
        out.write(number(8, 4))
        val values = ByteArrayOutputStream()
        ifds.forEachIndexed { i, ifd ->
            out.write(number(ifd.size.toLong(), 2))
            var next = 1
            for (entry in ifd) {
                val tag = if (entry === pointer) (if (next++ == 1 && exif.isNotEmpty()) 0x8769 else 0x8825) else entry.tag
                val target = if (entry === pointer) starts[ifds.indexOf(if (tag == 0x8769) exif else gps)] else 0
                out.write(number(tag.toLong(), 2))
                out.write(number(entry.type.toLong(), 2))
                out.write(number(entry.count.toLong(), 4))
                when {
                    entry === pointer -> out.write(number(target.toLong(), 4))
                    entry.data.size <= 4 -> out.write(entry.data.copyOf(4))
                    else -> {
                        out.write(number(data.toLong(), 4))
                        values.write(entry.data)
                        data += entry.data.size
                    }
                }
            }
            out.write(number(0, 4))
            check(out.size() == starts[i + 1])
        }
        out.write(values.toByteArray())
        return out.toByteArray()
    }
}

object PhotoBytes {
    /** A JPEG's first bytes with the block as its APP1 `Exif\0\0` segment (no pixels: facts never need them). */
    fun jpeg(tiff: ByteArray?): ByteArray {
        val out = ByteArrayOutputStream()
        out.write(byteArrayOf(0xff.toByte(), 0xd8.toByte()))
        out.write(byteArrayOf(0xff.toByte(), 0xe0.toByte(), 0, 16) + "JFIF".toByteArray() + ByteArray(10))
        if (tiff != null) {
            val payload = "Exif\u0000\u0000".toByteArray(Charsets.ISO_8859_1) + tiff
            out.write(byteArrayOf(0xff.toByte(), 0xe1.toByte(), ((payload.size + 2) shr 8).toByte(), (payload.size + 2).toByte()))
            out.write(payload)
        }
        out.write(byteArrayOf(0xff.toByte(), 0xd9.toByte()))
        return out.toByteArray()
    }

    /** A PNG's chunks: IHDR, the block as its eXIf chunk, IDAT, IEND (CRCs as a PNG has them). */
    fun png(tiff: ByteArray): ByteArray {
        val out = ByteArrayOutputStream()
        out.write(byteArrayOf(0x89.toByte(), 'P'.code.toByte(), 'N'.code.toByte(), 'G'.code.toByte(), 13, 10, 26, 10))
        fun chunk(type: String, data: ByteArray) {
            out.write(byteArrayOf((data.size shr 24).toByte(), (data.size shr 16).toByte(), (data.size shr 8).toByte(), data.size.toByte()))
            val body = type.toByteArray() + data
            out.write(body)
            val crc = CRC32().also { it.update(body) }.value
            out.write(byteArrayOf((crc shr 24).toByte(), (crc shr 16).toByte(), (crc shr 8).toByte(), crc.toByte()))
        }
        chunk("IHDR", byteArrayOf(0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0))
        chunk("eXIf", tiff)
        chunk("IDAT", ByteArray(12))
        chunk("IEND", ByteArray(0))
        return out.toByteArray()
    }
}

class PhotoFactsTest {
    private val mtime = 1_767_225_600_123_456_789L // 2026-01-01T00:00:00.123456789 UTC

    private fun sydney(bigEndian: Boolean): ByteArray {
        val w = TiffWriter(bigEndian)
        return w.build(
            ifd0 = listOf(TiffWriter.ascii(0x010F, "Apple"), TiffWriter.ascii(0x0110, "iPhone 15 Pro")),
            exif = listOf(TiffWriter.ascii(0x9003, "2023:12:31 23:59:59"), TiffWriter.ascii(0x9011, "+11:00")),
            gps = listOf(TiffWriter.ascii(1, "S"), w.rationals(2, 33L to 1L, 52L to 1L, 768L to 100L),
                TiffWriter.ascii(3, "W"), w.rationals(4, 151L to 1L, 12L to 1L, 3348L to 100L)))
    }

    @Test
    fun readsAJpegsDateOffsetGpsAndCamera() {
        for (bigEndian in listOf(true, false)) {
            val facts = PhotoFacts.read(PhotoBytes.jpeg(sydney(bigEndian)), mtime, false, null)
            assertEquals("2023-12-31T23:59:59", facts.takenAt)
            assertEquals("+11:00", facts.takenOffset)
            assertEquals("exif", facts.takenSource)
            assertEquals(-(33.0 + 52.0 / 60.0 + (768.0 / 100.0) / 3600.0), facts.latitude) // exactly the contract's double
            assertEquals(-(151.0 + 12.0 / 60.0 + (3348.0 / 100.0) / 3600.0), facts.longitude)
            assertEquals("Apple", facts.cameraMake)
            assertEquals("iPhone 15 Pro", facts.cameraModel)
            assertEquals("jpeg", facts.format)
            assertNull(facts.placeCity) // no places given
        }
    }

    @Test
    fun readsAPngsExifChunk() {
        val tiff = TiffWriter(false).build(ifd0 = listOf(TiffWriter.ascii(0x010F, "  Canon\u0000\u0000  "),
            TiffWriter.bytes(0x0110, ExifEntry.UNDEFINED, byteArrayOf(0xc9.toByte(), 'O'.code.toByte(), 'S'.code.toByte()))),
            exif = listOf(TiffWriter.ascii(0x9003, "2022:03:01 08:00:00")))
        val facts = PhotoFacts.read(PhotoBytes.png(tiff), mtime, false, null)
        assertEquals(PhotoFacts("2022-03-01T08:00:00", null, "exif", cameraMake = "Canon", cameraModel = "\u00c9OS",
            format = "png"), facts) // up to the NUL, trimmed; not UTF-8, so Latin-1; no offset given: none
    }

    @Test
    fun fallsBackToTheFileTime() {
        assertEquals(PhotoFacts("2026-01-01T00:00:00", "+00:00", "file", format = "jpeg"),
            PhotoFacts.read(PhotoBytes.jpeg(null), mtime, false, null))
        assertEquals("1969-12-31T23:59:59", PhotoFacts.fileTime(-1)) // floor, not truncation
        val undated = TiffWriter(true).build(ifd0 = listOf(TiffWriter.ascii(0x010F, "FUJIFILM")),
            exif = listOf(TiffWriter.ascii(0x9011, "+01:00")))
        assertEquals(PhotoFacts("2026-01-01T00:00:00", "+00:00", "file", cameraMake = "FUJIFILM", format = "jpeg"),
            PhotoFacts.read(PhotoBytes.jpeg(undated), mtime, false, null))
    }

    @Test
    fun malformedBlocksGiveAbsentValues() {
        val w = TiffWriter(true)
        fun facts(exif: List<TiffWriter.Entry> = emptyList(), gps: List<TiffWriter.Entry> = emptyList()) =
            PhotoFacts.read(PhotoBytes.jpeg(w.build(listOf(TiffWriter.ascii(0x0110, " ")), exif, gps)), mtime, false, null)
        for (date in listOf("0000:00:00 00:00:00", "2023:02:29 10:00:00", "2024:07:14 24:00:00", "2024-07-14 18:32:05",
                "2024:07:14 18:32", "")) {
            assertEquals("file", facts(exif = listOf(TiffWriter.ascii(0x9003, date))).takenSource, date)
        }
        assertEquals("2024-02-29T10:00:00", facts(exif = listOf(TiffWriter.ascii(0x9003, "2024:02:29 10:00:00"))).takenAt)
        for (offset in listOf("+15:00", "+01:60", "01:00", "+1:00", "Z")) {
            val got = facts(exif = listOf(TiffWriter.ascii(0x9003, "2024:07:14 18:32:05"), TiffWriter.ascii(0x9011, offset)))
            assertEquals("exif", got.takenSource)
            assertNull(got.takenOffset, offset)
        }
        fun lat(vararg v: Pair<Long, Long>) = w.rationals(2, *v)
        fun lon(vararg v: Pair<Long, Long>) = w.rationals(4, *v)
        val ok = arrayOf(38L to 1L, 42L to 1L, 50L to 1L)
        val north = TiffWriter.ascii(1, "N")
        val east = TiffWriter.ascii(3, "E")
        assertEquals(38.0 + 42.0 / 60.0 + 50.0 / 3600.0, facts(gps = listOf(north, lat(*ok), east, lon(*ok))).latitude)
        for (gps in listOf(
            listOf(TiffWriter.ascii(1, "X"), lat(*ok), east, lon(*ok)), // not N or S
            listOf(north, lat(*ok), TiffWriter.ascii(3, "e"), lon(*ok)), // not E or W
            listOf(north, lat(*ok), east), // no longitude
            listOf(north, lat(38L to 0L, 1L to 1L, 1L to 1L), east, lon(*ok)), // a zero denominator
            listOf(north, lat(91L to 1L, 0L to 1L, 0L to 1L), east, lon(*ok)), // latitude > 90
            listOf(north, lat(*ok), east, lon(180L to 1L, 0L to 1L, 1L to 1L)), // longitude > 180
            listOf(north, lat(38L to 1L, 42L to 1L), east, lon(*ok)), // two values, not three
            listOf(north, lat(0L to 1L, 0L to 1L, 0L to 1L), east, lon(0L to 1L, 0L to 1L, 0L to 1L)), // 0, 0: no fix
        )) {
            val got = facts(gps = gps)
            assertNull(got.latitude)
            assertNull(got.longitude)
            assertNull(got.cameraModel) // " ": empty once trimmed
        }
        // Cut anywhere or with bytes changed, a block gives what it can and never throws.
        val whole = PhotoBytes.jpeg(sydney(false))
        for (n in whole.indices) PhotoFacts.read(whole.copyOf(n), mtime, false, null)
        val random = Random(7)
        repeat(3000) {
            val bytes = whole.copyOf()
            repeat(1 + random.nextInt(4)) { bytes[random.nextInt(bytes.size)] = random.nextInt(256).toByte() }
            val got = PhotoFacts.read(bytes, mtime, false, null)
            assertTrue(got.takenSource == "exif" || got.takenAt == "2026-01-01T00:00:00")
            assertTrue((got.latitude ?: 0.0) in -90.0..90.0 && (got.longitude ?: 0.0) in -180.0..180.0)
        }
        for (garbage in listOf(ByteArray(0), byteArrayOf(0xff.toByte(), 0xd8.toByte(), 0xff.toByte()), ByteArray(100) { -1 })) {
            assertEquals(PhotoFacts("2026-01-01T00:00:00", "+00:00", "file", format = PhotoFacts.format(garbage, false)),
                PhotoFacts.read(garbage, mtime, false, null))
        }
    }

    @Test
    fun tellsTheFormatFromTheFirstBytes() {
        fun b(text: String) = text.toByteArray(Charsets.ISO_8859_1)
        fun ftyp(vararg brands: String) = byteArrayOf(0, 0, 0, (16 + 4 * (brands.size - 1)).toByte()) + b("ftyp") +
            b(brands[0]) + ByteArray(4) + brands.drop(1).flatMap { b(it).toList() }
        assertEquals("gif", PhotoFacts.format(b("GIF89a..."), false))
        assertEquals("webp", PhotoFacts.format(b("RIFF\u0000\u0000\u0000\u0000WEBPVP8 "), false))
        assertEquals("bmp", PhotoFacts.format(b("BM......"), false))
        assertEquals("heic", PhotoFacts.format(ftyp("heic", "mif1", "heic"), false))
        assertEquals("heic", PhotoFacts.format(ftyp("isom", "mif1"), false))
        assertEquals("avif", PhotoFacts.format(ftyp("mif1", "avif"), false))
        assertEquals("avif", PhotoFacts.format(ftyp("avif"), true))
        assertEquals("raw", PhotoFacts.format(ftyp("heic"), true)) // runtime/facts/photo_facts.py: a RAW's name wins over heic
        assertEquals("raw", PhotoFacts.format(b("II*\u0000\u0008\u0000\u0000\u0000"), true))
        assertEquals("tiff", PhotoFacts.format(b("II*\u0000\u0008\u0000\u0000\u0000"), false))
        assertEquals("tiff", PhotoFacts.format(b("MM\u0000*\u0000\u0000\u0000\u0008"), false))
        assertEquals("jpeg", PhotoFacts.format(PhotoBytes.jpeg(null), true)) // a RAW name with JPEG bytes is a JPEG
        assertNull(PhotoFacts.format(b("plain text"), false))
        assertNull(PhotoFacts.format(ftyp("crx ", "isom"), false))
        assertEquals(true, PhotoFacts.isRaw("DCIM/IMG_1.CR3"))
        assertEquals(false, PhotoFacts.isRaw("DCIM/IMG_1.jpg"))
    }
}

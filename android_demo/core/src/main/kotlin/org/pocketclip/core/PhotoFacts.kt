// What a photo says about itself (docs/contracts.md, "Photo facts"; R21), read from its bytes by the rules of
// runtime/facts/photo_facts.py: date taken, GPS position and the place it resolves to, camera make and model, format.
// Hand-written (ExifBlock.kt), as ExifOrientation.kt: javax.imageio ignores EXIF and androidx.exifinterface is
// Android-only, and one byte reader gives the JVM tests, the phone and (ported) iOS the same values. Nothing here
// fails a photo: a value that breaks a rule is absent.
package org.pocketclip.core

import java.time.LocalDateTime
import java.time.ZoneOffset

/** One photo's facts, as the store's photos columns hold them (null: absent). */
data class PhotoFacts(
    val takenAt: String? = null, val takenOffset: String? = null, val takenSource: String? = null,
    val latitude: Double? = null, val longitude: Double? = null,
    val placeCity: String? = null, val placeRegion: String? = null, val placeCountry: String? = null,
    val cameraMake: String? = null, val cameraModel: String? = null, val format: String? = null,
) {
    /** The values in COLUMNS order. */
    fun values(): List<Any?> = listOf(takenAt, takenOffset, takenSource, latitude, longitude, placeCity, placeRegion,
        placeCountry, cameraMake, cameraModel, format)

    companion object {
        /** The photos columns of the facts (runtime/facts/photo_facts.py COLUMNS), in values() order. */
        val COLUMNS: List<String> = StoreSchema.FACT_COLUMNS.keys.toList()

        /** An error row's facts, and those of a row whose facts were never read (R21, R22). */
        val NONE = PhotoFacts()

        const val EXIF = "exif"
        const val FILE = "file"
        private const val EXIF_IFD = 0x8769
        private const val GPS_IFD = 0x8825
        private const val MAKE = 0x010F
        private const val MODEL = 0x0110
        private const val DATE_TAKEN = 0x9003
        private const val OFFSET_TAKEN = 0x9011
        private val HEIC_BRANDS = setOf("heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1")
        private val AVIF_BRANDS = setOf("avif", "avis")

        /** runtime/indexing/raw.py RAW_SUFFIXES: camera RAW files, by name. */
        val RAW_SUFFIXES = setOf(".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf",
            ".rw2", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".kdc", ".dcr", ".mos", ".mrw", ".rwl")

        fun isRaw(name: String): Boolean {
            val dot = name.lastIndexOf('.')
            return dot >= 0 && name.substring(dot).lowercase() in RAW_SUFFIXES
        }

        /** The facts of a photo's bytes; `mtimeNs` dates a photo that does not say when it was taken. */
        fun read(bytes: ByteArray, mtimeNs: Long, raw: Boolean, places: Places?): PhotoFacts {
            val exif = try { Exif.of(bytes) } catch (e: RuntimeException) { null } ?: Exif.NONE
            val taken = exifDate(exif.sub[DATE_TAKEN])
            var latitude = degrees(exif.gps[2], exif.gps[1], "N", "S", 90.0)
            var longitude = degrees(exif.gps[4], exif.gps[3], "E", "W", 180.0)
            if (latitude == null || longitude == null || (latitude == 0.0 && longitude == 0.0)) { // 0,0: no fix
                latitude = null
                longitude = null
            }
            val place = if (places != null && latitude != null && longitude != null) places.resolve(latitude, longitude) else null
            return PhotoFacts(taken ?: fileTime(mtimeNs), if (taken != null) exifOffset(exif.sub[OFFSET_TAKEN]) else "+00:00",
                if (taken != null) EXIF else FILE, latitude, longitude, place?.city, place?.region, place?.country,
                exifText(exif.ifd0[MAKE]), exifText(exif.ifd0[MODEL]), format(bytes, raw))
        }

        /** The file's time in UTC, whole seconds (floor), as "YYYY-MM-DDTHH:MM:SS". */
        fun fileTime(mtimeNs: Long): String =
            iso(LocalDateTime.ofEpochSecond(Math.floorDiv(mtimeNs, 1_000_000_000L), 0, ZoneOffset.UTC))

        private fun iso(t: LocalDateTime) = "%04d-%02d-%02dT%02d:%02d:%02d".format(t.year, t.monthValue, t.dayOfMonth,
            t.hour, t.minute, t.second)

        /** The format the first bytes say (a RAW's container is TIFF or its own: `raw` is the name's verdict). */
        fun format(bytes: ByteArray, raw: Boolean): String? {
            val head = bytes.copyOf(minOf(bytes.size, 64))
            fun at(offset: Int, text: String) = ExifBlock.startsWith(head, offset, text.toByteArray(Charsets.ISO_8859_1))
            fun u(i: Int) = head[i].toInt() and 0xff
            return when {
                head.size >= 3 && u(0) == 0xff && u(1) == 0xd8 && u(2) == 0xff -> "jpeg"
                head.size >= 8 && u(0) == 0x89 && at(1, "PNG\r\n\u001a\n") -> "png"
                at(0, "GIF87a") || at(0, "GIF89a") -> "gif"
                at(0, "RIFF") && at(8, "WEBP") -> "webp"
                at(0, "BM") -> "bmp"
                else -> isoFormat(head, raw) ?: when {
                    raw -> "raw"
                    at(0, "II*\u0000") || at(0, "MM\u0000*") -> "tiff"
                    else -> null
                }
            }
        }

        /** An ftyp box's verdict: avif for an AVIF brand; heic for a HEIF brand, unless the name is a RAW's. */
        private fun isoFormat(head: ByteArray, raw: Boolean): String? {
            if (!ExifBlock.startsWith(head, 4, "ftyp".toByteArray(Charsets.ISO_8859_1))) return null
            val size = ((head[0].toLong() and 0xff) shl 24) or ((head[1].toLong() and 0xff) shl 16) or
                ((head[2].toLong() and 0xff) shl 8) or (head[3].toLong() and 0xff)
            val brands = HashSet<String>()
            if (head.size >= 12) brands.add(String(head, 8, 4, Charsets.ISO_8859_1))
            var i = 16 // the compatible brands, within the box and the first 64 bytes
            while (i < minOf(size, head.size.toLong()) - 3) { brands.add(String(head, i, 4, Charsets.ISO_8859_1)); i += 4 }
            return when {
                brands.any { it in AVIF_BRANDS } -> "avif"
                brands.any { it in HEIC_BRANDS } && !raw -> "heic"
                else -> null
            }
        }

        /** An EXIF text value: up to its first NUL, UTF-8 if valid else Latin-1, trimmed (Python's whitespace); null if empty. */
        fun exifText(entry: ExifEntry?): String? = entry?.bytes()?.let(::text)

        fun text(bytes: ByteArray): String? {
            val nul = bytes.indexOf(0)
            val cut = if (nul >= 0) bytes.copyOf(nul) else bytes
            val decoded = try {
                Charsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(cut)).toString()
            } catch (e: java.nio.charset.CharacterCodingException) {
                String(cut, Charsets.ISO_8859_1)
            }
            return pythonStrip(decoded).ifEmpty { null }
        }

        /** str.strip(): the characters Python counts as whitespace (more than Kotlin's trim, fewer in places). */
        private fun pythonStrip(s: String): String {
            fun space(c: Char) = c in "\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2028\u2029\u202f\u205f\u3000" ||
                c in '\u2000'..'\u200a'
            var from = 0
            var to = s.length
            while (from < to && space(s[from])) from++
            while (to > from && space(s[to - 1])) to--
            return s.substring(from, to)
        }

        /** Python's `\d` (any Unicode decimal digit) and int() of it. */
        private fun digits(codePoints: IntArray, from: Int, count: Int): Int? {
            var v = 0
            for (i in from until from + count) {
                if (!Character.isDigit(codePoints[i])) return null
                v = v * 10 + Character.digit(codePoints[i], 10)
            }
            return v
        }

        /** "YYYY:MM:DD HH:MM:SS" that is a real date and time, as "YYYY-MM-DDTHH:MM:SS"; else null. */
        fun exifDate(entry: ExifEntry?): String? {
            val cp = (exifText(entry) ?: return null).codePoints().toArray()
            if (cp.size != 19) return null
            for ((i, c) in listOf(4 to ':', 7 to ':', 10 to ' ', 13 to ':', 16 to ':')) if (cp[i] != c.code) return null
            val parts = listOf(0 to 4, 5 to 2, 8 to 2, 11 to 2, 14 to 2, 17 to 2).map { (at, n) -> digits(cp, at, n) ?: return null }
            val (year, month, day, hour, minute) = parts
            val second = parts[5]
            if (year < 1 || month !in 1..12 || hour > 23 || minute > 59 || second > 59) return null // 0000:00:00, hour 24
            if (day < 1 || day > java.time.YearMonth.of(year, month).lengthOfMonth()) return null // February 30th
            return iso(LocalDateTime.of(year, month, day, hour, minute, second))
        }

        /** "[+-]HH:MM" with HH <= 14 and MM < 60, as written; else null. */
        fun exifOffset(entry: ExifEntry?): String? {
            val text = exifText(entry) ?: return null
            val cp = text.codePoints().toArray()
            if (cp.size != 6 || (cp[0] != '+'.code && cp[0] != '-'.code) || cp[3] != ':'.code) return null
            val hours = digits(cp, 1, 2) ?: return null
            val minutes = digits(cp, 4, 2) ?: return null
            return if (hours <= 14 && minutes < 60) text else null
        }

        /**
         * Three values (degrees, minutes, seconds: rationals, or integers as x/1) and a reference letter as signed
         * decimal degrees: `d + m/60 + s/3600`, each numerator/denominator in double, added left to right.
         */
        fun degrees(value: ExifEntry?, ref: ExifEntry?, positive: String, negative: String, limit: Double): Double? {
            val letter = exifText(ref)
            if (value == null || (letter != positive && letter != negative)) return null
            val parts = value.rationals() ?: value.integers()?.map { it to 1L } ?: return null
            if (parts.size != 3) return null
            if (parts.any { (num, den) -> den == 0L || (value.type == 16 && (num < 0)) }) return null
            val (d, m, s) = parts.map { (num, den) -> num.toDouble() / den.toDouble() }
            val result = d + m / 60.0 + s / 3600.0
            if (!(result >= 0.0 && result <= limit)) return null
            return if (letter == negative) -result else result
        }
    }
}

/** The three IFDs the facts come from. */
private class Exif(val ifd0: Map<Int, ExifEntry>, val sub: Map<Int, ExifEntry>, val gps: Map<Int, ExifEntry>) {
    companion object {
        val NONE = Exif(emptyMap(), emptyMap(), emptyMap())

        fun of(bytes: ByteArray): Exif? {
            val block = ExifBlock.of(bytes) ?: return null
            val ifd0 = block.ifd(block.first)
            return Exif(ifd0, sub(block, ifd0[0x8769]) ?: return null, sub(block, ifd0[0x8825]) ?: return null)
        }

        /**
         * The IFD an IFD0 entry points to: its first integer value (Pillow keeps the first of a pointer's values);
         * no IFD for a pointer of another type; null (no EXIF at all, as Pillow fails on it) for a negative one.
         */
        private fun sub(block: ExifBlock, pointer: ExifEntry?): Map<Int, ExifEntry>? {
            val offset = pointer?.integers()?.firstOrNull() ?: return emptyMap()
            if (offset < 0) return null
            return block.ifd(offset)
        }
    }
}

// open_clip's text cleaning before BPE: ftfy.fix_text, html.unescape twice, whitespace, lower case.
// Hand-written: the JVM has neither ftfy nor Python's html.unescape. The table-driven ftfy fixes
// are reproduced (entities, C1 controls, Latin ligatures, character width, curly quotes, line
// breaks, terminal escapes, control characters, NFC); ftfy's heuristic mojibake repair
// (fix_encoding) is not, so only text that is already mis-decoded can tokenize differently.
package org.pocketclip.core

import java.text.Normalizer

object TextCleaning {
    /** Python's html.entities.html5: name (with or without ';') -> replacement text. */
    private val HTML5: Map<String, String> by lazy {
        val stream = TextCleaning::class.java.getResourceAsStream("html5_entities.tsv")
            ?: error("html5_entities.tsv is missing from the core module's resources")
        stream.bufferedReader(Charsets.UTF_8).useLines { lines ->
            lines.filter { it.isNotEmpty() && !it.startsWith("#") }.associate { line ->
                val (name, points) = line.split('\t')
                name to points.split(' ').joinToString("") { String(Character.toChars(it.toInt(16))) }
            }
        }
    }

    /** ftfy's entity table: '&name;' entries of html5, plus all-caps forms of lower-case names. */
    private val FTFY_ENTITIES: Map<String, String> by lazy {
        val out = HashMap<String, String>()
        for ((name, text) in HTML5) {
            if (!name.endsWith(";")) continue
            out["&$name"] = text
            if (name == name.lowercase()) {
                val upper = "&" + name.uppercase()
                if (htmlUnescape(upper) == upper) out[upper] = text.uppercase()
            }
        }
        out
    }

    // Python's html._invalid_charrefs: numeric references the HTML5 spec maps to Windows-1252 characters.
    private val INVALID_CHARREFS: Map<Int, String> = mapOf(0x00 to "\ufffd", 0x0d to "\r") +
        "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ".mapIndexed { i, c -> (0x80 + i) to c.toString() }

    private fun invalidCodepoint(n: Int): Boolean = n in 0x1..0x8 || n == 0xb || n in 0xe..0x1f || n in 0x7f..0x9f ||
        n in 0xfdd0..0xfdef || (n and 0xfffe) == 0xfffe

    private val HTML_REF = Regex("""&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\u000c <&#;]{1,32};?)""")

    /** Python's html.unescape. */
    fun htmlUnescape(s: String): String {
        if (!s.contains('&')) return s
        return HTML_REF.replace(s) { m -> replaceReference(m.groupValues[1]) }
    }

    private fun replaceReference(s: String): String {
        if (s[0] == '#') {
            val digits = s.trimEnd(';')
            val big = if (digits[1] == 'x' || digits[1] == 'X') digits.substring(2).toBigInteger(16) else digits.substring(1).toBigInteger()
            val num = if (big > java.math.BigInteger.valueOf(0x110000)) 0x110000 else big.toInt()
            INVALID_CHARREFS[num]?.let { return it }
            if (num in 0xd800..0xdfff || num > 0x10ffff) return "\ufffd"
            if (invalidCodepoint(num)) return ""
            return String(Character.toChars(num))
        }
        HTML5[s]?.let { return it }
        for (x in s.length - 1 downTo 2) { // longest known prefix, e.g. "&amp" + "x" for "&ampx"
            HTML5[s.substring(0, x)]?.let { return it + s.substring(x) }
        }
        return "&$s"
    }

    private val FTFY_ENTITY = Regex("&#?[0-9A-Za-z]{1,24};")
    private val SINGLE_QUOTES = Regex("[\u02bc\u2018-\u201b]")
    private val DOUBLE_QUOTES = Regex("[\u201c-\u201f]")
    private val ANSI = Regex("\u001b\\[((?:\\d|;)*)([a-zA-Z])")
    private val LINE_BREAKS = Regex("\r\n|\r|\u2028|\u2029|\u0085")
    private val LIGATURES = mapOf(0x132 to "IJ", 0x133 to "ij", 0x149 to "ʼn", 0x1f1 to "DZ", 0x1f2 to "Dz", 0x1f3 to "dz",
        0x1c4 to "DŽ", 0x1c5 to "Dž", 0x1c6 to "dž", 0x1c7 to "LJ", 0x1c8 to "Lj", 0x1c9 to "lj", 0x1ca to "NJ",
        0x1cb to "Nj", 0x1cc to "nj", 0xfb00 to "ff", 0xfb01 to "fi", 0xfb02 to "fl", 0xfb03 to "ffi", 0xfb04 to "ffl",
        0xfb05 to "ſt", 0xfb06 to "st")

    private fun controlChar(c: Int) = c in 0x00..0x08 || c == 0x0b || c in 0x0e..0x1f || c == 0x7f ||
        c in 0x206a..0x206f || c == 0xfeff || c in 0xfff9..0xfffc

    private fun ftfyUnescape(s: String): String = FTFY_ENTITY.replace(s) { m ->
        val t = m.value
        FTFY_ENTITIES[t] ?: if (t.startsWith("&#")) htmlUnescape(t).let { if (it.contains(';')) t else it } else t
    }

    private fun mapChars(s: String, f: (Int) -> String?): String {
        val out = StringBuilder(s.length)
        var i = 0
        while (i < s.length) {
            val c = s.codePointAt(i)
            val r = f(c)
            if (r == null) out.appendCodePoint(c) else out.append(r)
            i += Character.charCount(c)
        }
        return out.toString()
    }

    /** ftfy's fix_character_width: fullwidth/halfwidth forms and U+3000 to their NFKC form. */
    private fun width(c: Int): String? = when {
        c == 0x3000 -> " "
        c in 0xff01..0xffef -> Normalizer.normalize(String(Character.toChars(c)), Normalizer.Form.NFKC)
            .takeIf { it != String(Character.toChars(c)) }
        else -> null
    }

    private fun fixSegment(segment: String, unescape: Boolean): String {
        var text = segment
        while (true) {
            val before = text
            if (unescape) text = ftfyUnescape(text)
            text = mapChars(text) { c -> if (c in 0x80..0x9f) INVALID_CHARREFS[c] else null } // fix_c1_controls
            text = mapChars(text) { LIGATURES[it] }
            text = mapChars(text, ::width)
            text = DOUBLE_QUOTES.replace(SINGLE_QUOTES.replace(text, "'"), "\"")
            text = LINE_BREAKS.replace(text, "\n")
            text = ANSI.replace(text, "")
            text = mapChars(text) { c -> if (controlChar(c)) "" else null }
            text = Normalizer.normalize(text, Normalizer.Form.NFC)
            if (text == before) return text
        }
    }

    /** ftfy.fix_text with its default config, minus fix_encoding (see the file comment). */
    fun ftfyFixText(text: String): String {
        val out = StringBuilder()
        var unescape = true
        var pos = 0
        while (pos < text.length) {
            val brk = text.indexOf('\n', pos).let { if (it < 0) text.length else it + 1 }
            val segment = text.substring(pos, brk)
            if (unescape && segment.contains('<')) unescape = false // ftfy's "auto": never again in this text
            out.append(fixSegment(segment, unescape))
            pos = brk
        }
        return out.toString()
    }

    // Python's str.isspace() set, which both `re` \s and str.strip() use.
    private const val SPACE = "\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003" +
        "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
    private val WHITESPACE_RUN = Regex("[$SPACE]+")

    private fun pyStrip(s: String): String = s.trim { it in SPACE }

    /** runtime/bundle/tokenizer.py clean_text. */
    fun clean(text: String, lowerCase: Boolean = true): String {
        val unescaped = pyStrip(htmlUnescape(htmlUnescape(ftfyFixText(text))))
        val collapsed = pyStrip(WHITESPACE_RUN.replace(unescaped, " "))
        return if (lowerCase) collapsed.lowercase(java.util.Locale.ROOT) else collapsed
    }
}

// CLIP's byte-level BPE tokenizer, id for id with runtime/bundle/tokenizer.py (and open_clip's SimpleTokenizer).
// Hand-written: no JVM/Android BPE library reproduces CLIP's vocabulary layout, end-of-word suffix and
// pre-tokenising regex without a native dependency, and the whole algorithm is ~100 lines.
package org.pocketclip.core

import java.io.File
import java.io.InputStream
import java.util.zip.GZIPInputStream

class ClipTokenizer(merges: List<Pair<String, String>>, private val spec: TextSpec) {
    private val byteUnits: Array<String> = bytesToUnicode()
    private val ranks: Map<Pair<String, String>, Int> = merges.withIndex().associate { (i, m) -> m to i }
    private val vocab: Map<String, Int>
    private val cache = java.util.concurrent.ConcurrentHashMap<String, IntArray>()

    init {
        val units = byteUnitsInVocabOrder()
        val tokens = units + units.map { "$it</w>" } + merges.map { it.first + it.second } +
            listOf(START, END)
        vocab = tokens.withIndex().associate { (i, t) -> t to i }
        check(vocab[START] == spec.sotId && vocab[END] == spec.eotId) {
            "the merges give start/end ids ${vocab[START]}/${vocab[END]}, the manifest says ${spec.sotId}/${spec.eotId}"
        }
    }

    /** BPE ids of one text, without start/end tokens or truncation. */
    fun encode(text: String): IntArray {
        val cleaned = TextCleaning.clean(text, spec.lowerCase)
        val out = ArrayList<Int>()
        // Written out in a text, the two markers are the special tokens themselves, as in open_clip.
        var pos = 0
        for (m in SPECIAL.findAll(cleaned)) {
            encodePlain(cleaned.substring(pos, m.range.first), out)
            out.add(vocab.getValue(m.value))
            pos = m.range.last + 1
        }
        encodePlain(cleaned.substring(pos), out)
        return out.toIntArray()
    }

    /** (context_length) ids: start, BPE ids (cut to fit), end, then pad ids. */
    fun tokenize(text: String): LongArray {
        val bpe = encode(text)
        val out = LongArray(spec.contextLength) { spec.padId.toLong() }
        val kept = minOf(bpe.size, spec.contextLength - 2)
        out[0] = spec.sotId.toLong()
        for (i in 0 until kept) out[i + 1] = bpe[i].toLong()
        out[kept + 1] = spec.eotId.toLong()
        return out
    }

    private fun encodePlain(text: String, out: MutableList<Int>) {
        for (piece in PRETOKEN.findAll(text)) {
            val units = piece.value.toByteArray(Charsets.UTF_8).joinToString("") { byteUnits[it.toInt() and 0xff] }
            out.addAll(bpe(units).asList())
        }
    }

    /** Merge the pair of lowest rank until none is left; the last symbol carries "</w>". */
    private fun bpe(word: String): IntArray = cache.getOrPut(word) {
        val symbols = word.map { it.toString() }.toMutableList()
        symbols[symbols.size - 1] = symbols.last() + "</w>"
        while (symbols.size > 1) {
            var best: Pair<String, String>? = null
            var bestRank = Int.MAX_VALUE
            for (i in 0 until symbols.size - 1) {
                val rank = ranks[symbols[i] to symbols[i + 1]] ?: continue
                if (rank < bestRank) { bestRank = rank; best = symbols[i] to symbols[i + 1] }
            }
            if (best == null) break
            val merged = ArrayList<String>(symbols.size)
            var i = 0
            while (i < symbols.size) {
                if (i < symbols.size - 1 && symbols[i] == best.first && symbols[i + 1] == best.second) {
                    merged.add(best.first + best.second); i += 2
                } else {
                    merged.add(symbols[i]); i += 1
                }
            }
            symbols.clear(); symbols.addAll(merged)
        }
        IntArray(symbols.size) { vocab[symbols[it]] ?: error("BPE symbol ${symbols[it]} is not in the vocabulary") }
    }

    companion object {
        const val START = "<start_of_text>"
        const val END = "<end_of_text>"
        private val SPECIAL = Regex("<start_of_text>|<end_of_text>")
        // CLIP's pre-tokeniser: contractions, letter runs, single digits, runs of other non-space symbols.
        private val PRETOKEN = java.util.regex.Pattern.compile(
            """'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            java.util.regex.Pattern.UNICODE_CHARACTER_CLASS, // \s is Unicode whitespace, as in Python
        ).toRegex()

        private fun printable(): List<Int> = ('!'.code..'~'.code) + ('¡'.code..'¬'.code) + ('®'.code..'ÿ'.code)

        /** GPT-2's reversible byte -> printable character table, indexed by byte value. */
        fun bytesToUnicode(): Array<String> {
            val table = arrayOfNulls<String>(256)
            val keep = printable().toSet()
            var extra = 0
            for (b in 0 until 256) table[b] = if (b in keep) b.toChar().toString() else (256 + extra++).toChar().toString()
            return table.requireNoNulls()
        }

        /** The 256 byte units in Python's dict order: printable bytes first, then the remapped ones. */
        private fun byteUnitsInVocabOrder(): List<String> {
            val table = bytesToUnicode()
            val keep = printable()
            return keep.map { table[it] } + (0 until 256).filter { it !in keep.toSet() }.map { table[it] }
        }

        /** The first `spec.mergesUsed` merges of a CLIP merges file (gzip), after its header line. */
        fun readMerges(gz: InputStream, count: Int): List<Pair<String, String>> =
            GZIPInputStream(gz).bufferedReader(Charsets.UTF_8).use { reader ->
                reader.readText().split("\n").subList(1, count + 1).map { line ->
                    val parts = line.split(" ")
                    parts[0] to parts[1]
                }
            }

        fun fromBundle(manifest: Manifest): ClipTokenizer {
            require(manifest.text.tokenizer == "clip-bpe") { "tokenizer ${manifest.text.tokenizer} is not clip-bpe" }
            val merges = manifest.verify(manifest.text.mergesFile).inputStream().use { readMerges(it, manifest.text.mergesUsed) }
            return ClipTokenizer(merges, manifest.text)
        }

        fun fromFile(merges: File, spec: TextSpec): ClipTokenizer =
            ClipTokenizer(merges.inputStream().use { readMerges(it, spec.mergesUsed) }, spec)
    }
}

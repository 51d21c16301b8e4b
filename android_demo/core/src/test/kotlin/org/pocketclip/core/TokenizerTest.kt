package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class TokenizerTest {
    private val tokenizer by lazy { ClipTokenizer.fromBundle(TestInputs.manifest) }

    private fun check(texts: List<String>, idsFile: String) {
        val ids = TestInputs.golden.array(idsFile)
        assertEquals(listOf(texts.size, 77), ids.shape.toList())
        val all = ids.longs()
        texts.forEachIndexed { i, text ->
            assertArrayEquals(all.copyOfRange(i * 77, (i + 1) * 77), tokenizer.tokenize(text), "text $i: \"$text\"")
        }
    }

    @Test
    fun goldenTextsGiveTheGoldenIds() {
        val golden = TestInputs.golden
        check(golden.texts, "ids.npy")
        val gallery = golden.galleryTexts
        if (gallery != null && golden.has("gallery_ids.npy")) check(gallery, "gallery_ids.npy")
        println("tokenizer: ${golden.texts.size} golden texts and ${gallery?.size ?: 0} gallery captions give the golden ids")
    }

    @Test
    fun cleaningFollowsPython() {
        // Expected strings from runtime.tokenizer.clean_text (ftfy + html.unescape + whitespace + lower case).
        val cases = mapOf(
            "  Two\tRED\n\ncircles  " to "two red circles",
            "fish &amp; chips &amp;amp; &lt;b&gt; &#233;t&#xE9; &copy &notit" to "fish & chips & <b> été © ¬it",
            "\u201cquoted\u201d \u2018single\u2019 \uFB01sh \uFF21\uFF22\uFF23 caf\u0065\u0301" to "\"quoted\" 'single' fish abc café",
            "a\u00a0b\u2003c\u200bd" to "a b c\u200bd",
        )
        for ((text, cleaned) in cases) assertEquals(cleaned, TextCleaning.clean(text), "clean(\"$text\")")
    }
}

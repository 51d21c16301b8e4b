// `jvm-test.sh --check-bundle DIR`: whether this core can use the bundle in DIR, its manifest and tokenizer loaded as
// the app loads them (tests/apps/test_tokenizer_refusal.py). One line: on stdout when it can, on stderr with the
// reason (exit 1) when it cannot.
package org.pocketclip.core

import java.io.File
import kotlin.system.exitProcess

object BundleCheck {
    @JvmStatic
    fun main(args: Array<String>) {
        val root = File(args.single())
        try {
            val manifest = Manifest.load(root)
            ClipTokenizer.fromBundle(manifest)
            println("bundle $root: ${manifest.modelName}, tokenizer ${manifest.text.tokenizer}, " +
                "${manifest.artifacts.size} artifacts")
        } catch (e: BundleError) {
            System.err.println("Error: ${e.message}")
            exitProcess(1)
        }
    }
}

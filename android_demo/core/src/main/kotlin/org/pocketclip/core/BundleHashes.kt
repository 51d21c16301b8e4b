// sha256 of bundle files, exactly as runtime/bundle/manifest.py sha256_path computes it.
package org.pocketclip.core

import java.io.File
import java.security.MessageDigest

object BundleHashes {
    /** A file's sha256; a folder (.mlpackage) hashes its sorted `relative/path\0file-sha256\n` lines. */
    fun sha256(path: File): String {
        val digest = MessageDigest.getInstance("SHA-256")
        if (path.isDirectory) {
            // Python sorts Path objects part by part; comparing '/'-joined strings part-wise gives the same order.
            val files = path.walkTopDown().filter { it.isFile }
                .map { it.relativeTo(path).invariantSeparatorsPath to it }
                .sortedWith { a, b -> comparePaths(a.first, b.first) }
            for ((relative, file) in files) {
                digest.update(relative.toByteArray(Charsets.UTF_8) + byteArrayOf(0) +
                    sha256(file).toByteArray(Charsets.US_ASCII) + byteArrayOf('\n'.code.toByte()))
            }
        } else {
            path.inputStream().use { input ->
                val block = ByteArray(1 shl 20)
                while (true) {
                    val n = input.read(block)
                    if (n < 0) break
                    digest.update(block, 0, n)
                }
            }
        }
        return hex(digest.digest())
    }

    fun sha256(bytes: ByteArray): String = hex(MessageDigest.getInstance("SHA-256").digest(bytes))

    fun hex(bytes: ByteArray): String = bytes.joinToString("") { "%02x".format(it.toInt() and 0xff) }

    private fun comparePaths(a: String, b: String): Int {
        val pa = a.split('/')
        val pb = b.split('/')
        for (i in 0 until minOf(pa.size, pb.size)) {
            val c = pa[i].compareTo(pb[i]) // code-unit order; Python compares code points (same for BMP names)
            if (c != 0) return c
        }
        return pa.size - pb.size
    }
}

// Where the app's bundle is: pushed to the app's external files dir, or packaged as assets/bundle.
package org.pocketclip.app

import android.content.Context
import org.pocketclip.core.BundleError
import org.pocketclip.core.Manifest
import java.io.File

object BundleFiles {
    /** `adb push BUNDLE/. /sdcard/Android/data/org.pocketclip.app/files/bundle/` lands here; it wins over assets. */
    fun pushed(context: Context): File = File(context.getExternalFilesDir(null), "bundle")

    /** assets/bundle, copied out once (artifacts must be files for ExecuTorch and ONNX Runtime to map them). */
    private fun unpacked(context: Context): File = File(context.filesDir, "bundle")

    @Volatile private var cached: Manifest? = null

    /** The bundle's manifest; every file is verified against its sha256 when it is used. */
    @Synchronized // the activity and the worker may both be first: one copies the assets, the other waits
    fun load(context: Context): Manifest {
        cached?.let { return it }
        val pushed = pushed(context)
        val root = when {
            File(pushed, "manifest.json").exists() -> pushed
            File(unpacked(context), "manifest.json").exists() -> unpacked(context)
            "manifest.json" in (context.assets.list("bundle") ?: emptyArray()) -> unpacked(context).also { target ->
                // Into a side folder renamed when complete: a copy killed halfway never looks like a bundle.
                val partial = File(target.path + ".partial").apply { deleteRecursively() }
                copyAssets(context, "bundle", partial)
                target.deleteRecursively()
                check(partial.renameTo(target)) { "cannot write $target" }
            }
            else -> throw BundleError("no bundle: push one to $pushed or package it as app/src/main/assets/bundle")
        }
        return Manifest.load(root).also { cached = it }
    }

    private fun copyAssets(context: Context, path: String, target: File) {
        val children = context.assets.list(path) ?: emptyArray()
        if (children.isEmpty()) {
            target.parentFile?.mkdirs()
            context.assets.open(path).use { input -> target.outputStream().use { input.copyTo(it) } }
            return
        }
        target.mkdirs()
        for (child in children) copyAssets(context, "$path/$child", File(target, child))
    }
}

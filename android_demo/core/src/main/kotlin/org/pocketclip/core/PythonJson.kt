// Python's `json.dumps(value, sort_keys=True)` of a parsed JSON value, byte for byte.
// Hand-written: the store records sha256 of that exact text (runtime/bundle/manifest.py preprocess_sha256),
// and Gson's serialiser differs (separators, number text, non-ASCII escapes).
package org.pocketclip.core

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonPrimitive

object PythonJson {
    fun dumpsSorted(value: JsonElement): String = StringBuilder().also { write(value, it) }.toString()

    private fun write(value: JsonElement, out: StringBuilder) {
        when {
            value.isJsonNull -> out.append("null")
            value is JsonObject -> {
                out.append('{')
                // Python sorts str keys by code point; UTF-16 order differs only above U+FFFF, absent from manifests.
                value.keySet().sorted().forEachIndexed { i, key ->
                    if (i > 0) out.append(", ")
                    writeString(key, out)
                    out.append(": ")
                    write(value.get(key), out)
                }
                out.append('}')
            }
            value is JsonArray -> {
                out.append('[')
                value.forEachIndexed { i, item ->
                    if (i > 0) out.append(", ")
                    write(item, out)
                }
                out.append(']')
            }
            value is JsonPrimitive && value.isBoolean -> out.append(if (value.asBoolean) "true" else "false")
            // The manifest was written by Python, so a number's source text is already Python's repr of it.
            value is JsonPrimitive && value.isNumber -> out.append(value.asNumber.toString())
            value is JsonPrimitive -> writeString(value.asString, out)
        }
    }

    /** ensure_ascii=True escaping: \" \\ \n \r \t \b \f, other controls and non-ASCII as \uXXXX. */
    private fun writeString(s: String, out: StringBuilder) {
        out.append('"')
        for (c in s) {
            when (c) {
                '"' -> out.append("\\\"")
                '\\' -> out.append("\\\\")
                '\n' -> out.append("\\n")
                '\r' -> out.append("\\r")
                '\t' -> out.append("\\t")
                '\b' -> out.append("\\b")
                '\u000c' -> out.append("\\f")
                else -> if (c.code < 0x20 || c.code > 0x7e) out.append("\\u%04x".format(c.code)) else out.append(c)
            }
        }
        out.append('"')
    }
}

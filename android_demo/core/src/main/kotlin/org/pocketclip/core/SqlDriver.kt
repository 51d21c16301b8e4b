// The few SQL operations the store needs, so the core runs over JDBC (tests), SQLiteDatabase (Android)
// or the SQLite3 C API (Swift mirrors this).
package org.pocketclip.core

interface SqlDriver {
    /** A statement without results. Arguments: null, Long/Int, Double, String, ByteArray. */
    fun execute(sql: String, args: List<Any?> = emptyList())

    /** Rows of a query; values are null, Long, Double, String or ByteArray. */
    fun query(sql: String, args: List<Any?> = emptyList()): List<List<Any?>>

    /** Run `block` in one transaction: committed if it returns, rolled back if it throws. */
    fun <T> transaction(block: () -> T): T
}

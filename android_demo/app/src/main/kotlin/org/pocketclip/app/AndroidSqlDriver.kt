// The core's SqlDriver over Android's SQLiteDatabase, and the app's one shared store.
package org.pocketclip.app

import android.content.Context
import android.database.Cursor
import android.database.sqlite.SQLiteDatabase
import org.pocketclip.core.EmbeddingStore
import org.pocketclip.core.SqlDriver
import java.io.File

class AndroidSqlDriver(private val db: SQLiteDatabase) : SqlDriver {
    override fun execute(sql: String, args: List<Any?>) {
        if (args.isEmpty()) db.execSQL(sql) else db.execSQL(sql, args.map { if (it is Int) it.toLong() else it }.toTypedArray())
    }

    override fun query(sql: String, args: List<Any?>): List<List<Any?>> {
        // rawQuery binds text only; the store's queries bind paths and model fingerprints.
        val text = args.map { arg ->
            when (arg) {
                is String -> arg
                is Number -> arg.toString()
                else -> throw IllegalArgumentException("query arguments are text or numbers, got ${arg?.javaClass}")
            }
        }.toTypedArray()
        return db.rawQuery(sql, text).use { cursor ->
            val rows = ArrayList<List<Any?>>(cursor.count)
            while (cursor.moveToNext()) rows.add((0 until cursor.columnCount).map { value(cursor, it) })
            rows
        }
    }

    private fun value(cursor: Cursor, column: Int): Any? = when (cursor.getType(column)) {
        Cursor.FIELD_TYPE_NULL -> null
        Cursor.FIELD_TYPE_INTEGER -> cursor.getLong(column)
        Cursor.FIELD_TYPE_FLOAT -> cursor.getDouble(column)
        Cursor.FIELD_TYPE_BLOB -> cursor.getBlob(column)
        else -> cursor.getString(column)
    }

    override fun <T> transaction(block: () -> T): T {
        db.beginTransaction() // nests: an inner failure rolls back the outermost transaction
        try {
            val result = block()
            db.setTransactionSuccessful()
            return result
        } finally {
            db.endTransaction()
        }
    }
}

/** The app's store (one SQLiteDatabase per process: it is thread-safe, and WAL lets search read while indexing writes). */
object StoreFiles {
    @Volatile private var store: EmbeddingStore? = null

    fun file(context: Context): File = File(context.filesDir, "pocketclip.db")

    @Synchronized
    fun open(context: Context): EmbeddingStore {
        store?.let { return it }
        // NO_LOCALIZED_COLLATORS: no android_metadata table, so the schema stays exactly runtime/store/store.py's.
        val db = SQLiteDatabase.openDatabase(file(context).path, null,
            SQLiteDatabase.CREATE_IF_NECESSARY or SQLiteDatabase.NO_LOCALIZED_COLLATORS or
                SQLiteDatabase.ENABLE_WRITE_AHEAD_LOGGING)
        return EmbeddingStore.open(AndroidSqlDriver(db)).also { store = it }
    }
}

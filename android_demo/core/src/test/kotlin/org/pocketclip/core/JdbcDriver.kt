// SqlDriver over JDBC (xerial sqlite-jdbc), the JVM tests' stand-in for Android's SQLiteDatabase.
package org.pocketclip.core

import java.io.File
import java.sql.Connection
import java.sql.DriverManager
import java.sql.Types

class JdbcDriver(file: File) : SqlDriver, AutoCloseable {
    val connection: Connection = DriverManager.getConnection("jdbc:sqlite:${file.absolutePath}")

    private fun bind(sql: String, args: List<Any?>) = connection.prepareStatement(sql).also { st ->
        args.forEachIndexed { i, v ->
            when (v) {
                null -> st.setNull(i + 1, Types.NULL)
                is Int -> st.setLong(i + 1, v.toLong())
                is Long -> st.setLong(i + 1, v)
                is Double -> st.setDouble(i + 1, v)
                is String -> st.setString(i + 1, v)
                is ByteArray -> st.setBytes(i + 1, v)
                else -> throw IllegalArgumentException("cannot bind ${v::class}")
            }
        }
    }

    override fun execute(sql: String, args: List<Any?>) {
        bind(sql, args).use { it.execute() }
    }

    override fun query(sql: String, args: List<Any?>): List<List<Any?>> = bind(sql, args).use { st ->
        if (!st.execute()) return emptyList()
        st.resultSet.use { rs ->
            val columns = rs.metaData.columnCount
            val rows = ArrayList<List<Any?>>()
            while (rs.next()) rows.add((1..columns).map { c ->
                when (val v = rs.getObject(c)) {
                    is Int -> v.toLong()
                    is Float -> v.toDouble()
                    else -> v
                }
            })
            rows
        }
    }

    override fun <T> transaction(block: () -> T): T {
        if (!connection.autoCommit) return block() // already inside one: join it, as db.atomic() nests
        connection.autoCommit = false
        try {
            val result = block()
            connection.commit()
            return result
        } catch (e: Throwable) {
            connection.rollback()
            throw e
        } finally {
            connection.autoCommit = true
        }
    }

    override fun close() = connection.close()
}

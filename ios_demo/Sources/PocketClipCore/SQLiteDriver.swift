// SQLDriver over the SQLite3 C API that ships with iOS and macOS.
import Foundation
import SQLite3

// SQLite's SQLITE_TRANSIENT (a C macro Swift does not import): SQLite copies bound text and blobs.
private let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

public final class SQLiteDriver: SQLDriver {
    private var db: OpaquePointer?
    public let path: String

    public init(path: String) throws {
        self.path = path
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "status \(status)"
            sqlite3_close(db)
            db = nil
            throw SQLError("cannot open \(path): \(message)")
        }
        sqlite3_busy_timeout(db, 5_000)
    }

    deinit {
        sqlite3_close(db)
    }

    private func error(_ sql: String) -> SQLError {
        SQLError("\(String(cString: sqlite3_errmsg(db))) (in: \(sql.prefix(80)))")
    }

    private func prepare(_ sql: String, _ arguments: [SQLValue]) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw error(sql)
        }
        for (i, value) in arguments.enumerated() {
            let index = Int32(i + 1)
            let status: Int32
            switch value {
            case .null:
                status = sqlite3_bind_null(statement, index)
            case .integer(let v):
                status = sqlite3_bind_int64(statement, index, v)
            case .real(let v):
                status = sqlite3_bind_double(statement, index, v)
            case .text(let v):
                status = sqlite3_bind_text(statement, index, v, -1, SQLITE_TRANSIENT)
            case .blob(let v):
                status = v.isEmpty
                    ? sqlite3_bind_zeroblob(statement, index, 0)  // an empty blob, not NULL
                    : v.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), SQLITE_TRANSIENT) }
            }
            guard status == SQLITE_OK else {
                sqlite3_finalize(statement)
                throw error(sql)
            }
        }
        return statement
    }

    public func execute(_ sql: String, _ arguments: [SQLValue]) throws {
        _ = try query(sql, arguments)
    }

    public func query(_ sql: String, _ arguments: [SQLValue]) throws -> [[SQLValue]] {
        let statement = try prepare(sql, arguments)
        defer { sqlite3_finalize(statement) }
        var rows: [[SQLValue]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return rows }
            guard status == SQLITE_ROW else { throw error(sql) }
            rows.append((0 ..< sqlite3_column_count(statement)).map { column(statement, $0) })
        }
    }

    private func column(_ statement: OpaquePointer, _ i: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, i) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(statement, i))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(statement, i))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(statement, i) else { return .text("") }
            return .text(String(cString: text))
        case SQLITE_BLOB:
            // sqlite3_column_blob first, then sqlite3_column_bytes, the order SQLite's documentation asks for.
            let bytes = sqlite3_column_blob(statement, i)
            let count = Int(sqlite3_column_bytes(statement, i))
            guard count > 0, let bytes else { return .blob(Data()) }
            return .blob(Data(bytes: bytes, count: count))
        default:
            return .null
        }
    }
}

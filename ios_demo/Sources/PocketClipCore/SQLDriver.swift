// The few SQL operations the store needs, so the same store code runs over SQLite's C API here and
// over other drivers in tests.
import Foundation

public enum SQLValue: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    public var int: Int64? { if case .integer(let v) = self { return v } else { return nil } }
    public var string: String? { if case .text(let v) = self { return v } else { return nil } }
    public var data: Data? { if case .blob(let v) = self { return v } else { return nil } }
}

public struct SQLError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public protocol SQLDriver: AnyObject {
    /// Runs one statement, discarding any rows.
    func execute(_ sql: String, _ arguments: [SQLValue]) throws
    /// Runs one statement and returns every row, columns in the SELECT's order.
    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [[SQLValue]]
}

extension SQLDriver {
    public func execute(_ sql: String) throws { try execute(sql, []) }

    /// `body` inside BEGIN IMMEDIATE ... COMMIT, rolled back if it throws: all of it is written or none.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

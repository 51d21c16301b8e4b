// Reading NumPy .npy files (the bundle's golden/ and pq/ arrays).
// Hand-written: the format is a short text header plus raw little-endian data, not worth a dependency.
import Foundation

public enum NpyError: Error, CustomStringConvertible {
    case malformed(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .malformed(let why): return "not a .npy file: \(why)"
        case .unsupported(let why): return "unsupported .npy: \(why)"
        }
    }
}

/// One array: its shape, dtype (numpy's `descr`, e.g. "<f4") and raw C-order little-endian bytes.
public struct NpyArray {
    public let shape: [Int]
    public let dtype: String
    public let data: Data

    public var count: Int { shape.reduce(1, *) }

    public static func read(_ url: URL) throws -> NpyArray {
        try parse(Data(contentsOf: url), name: url.lastPathComponent)
    }

    public static func parse(_ file: Data, name: String = ".npy") throws -> NpyArray {
        let bytes = [UInt8](file.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw NpyError.malformed("\(name) lacks the \\x93NUMPY magic")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NpyError.malformed("\(name) is truncated") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw NpyError.unsupported("\(name) has format version \(major)")
        }
        guard file.count >= headerStart + headerLength else { throw NpyError.malformed("\(name) is truncated") }
        let headerBytes = file.subdata(in: file.startIndex + headerStart ..< file.startIndex + headerStart + headerLength)
        guard let header = String(data: headerBytes, encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw NpyError.malformed("\(name) has an unreadable header")
        }
        let dtype = try value(of: "descr", in: header, name: name)
            .trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        let fortran = try value(of: "fortran_order", in: header, name: name)
        guard fortran.hasPrefix("False") else { throw NpyError.unsupported("\(name) is Fortran-ordered") }
        let shape = try parseShape(header, name: name)
        guard let width = Self.itemSize[dtype] else {
            throw NpyError.unsupported("\(name) has dtype \(dtype); readable: \(Self.itemSize.keys.sorted())")
        }
        let start = file.startIndex + headerStart + headerLength
        let expected = shape.reduce(1, *) * width
        guard file.count - headerStart - headerLength >= expected else {
            throw NpyError.malformed("\(name) holds fewer bytes than its shape \(shape) needs")
        }
        return NpyArray(shape: shape, dtype: dtype, data: file.subdata(in: start ..< start + expected))
    }

    /// Little-endian dtypes only ('|' = byte-sized, no order): every platform we target is little-endian.
    static let itemSize: [String: Int] = ["<f4": 4, "<f2": 2, "<i8": 8, "<i4": 4, "|u1": 1, "<u1": 1, "|i1": 1]

    private static func value(of key: String, in header: String, name: String) throws -> String {
        guard let range = header.range(of: "'\(key)':") else {
            throw NpyError.malformed("\(name) header has no '\(key)'")
        }
        let rest = header[range.upperBound...].drop(while: { $0 == " " })
        if rest.first == "'" {
            let body = rest.dropFirst()
            guard let end = body.firstIndex(of: "'") else { throw NpyError.malformed("\(name): bad '\(key)'") }
            return String(body[..<end])
        }
        return String(rest.prefix(while: { $0 != "," && $0 != "}" }))
    }

    private static func parseShape(_ header: String, name: String) throws -> [Int] {
        guard let key = header.range(of: "'shape':"),
              let open = header[key.upperBound...].firstIndex(of: "("),
              let close = header[open...].firstIndex(of: ")") else {
            throw NpyError.malformed("\(name) header has no shape")
        }
        let inside = header[header.index(after: open) ..< close]
        return try inside.split(separator: ",").compactMap { part -> Int? in
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { return nil }
            guard let n = Int(text), n >= 0 else { throw NpyError.malformed("\(name) has shape entry \(text)") }
            return n
        }
    }

    private func require(_ wanted: String...) throws {
        guard wanted.contains(dtype) else { throw NpyError.unsupported("dtype \(dtype), wanted \(wanted)") }
    }

    /// Elements as Float: float32 or float16 arrays.
    public func floats() throws -> [Float] {
        try require("<f4", "<f2")
        if dtype == "<f2" { return Float16Codec.decode(data) }
        return data.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// Elements as Int: int64, int32 or uint8 arrays.
    public func ints() throws -> [Int] {
        try require("<i8", "<i4", "|u1", "<u1", "|i1")
        return data.withUnsafeBytes { raw in
            switch dtype {
            case "<i8": return (0..<count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
            case "<i4": return (0..<count).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
            case "|i1": return raw.map { Int(Int8(bitPattern: $0)) }
            default: return raw.map { Int($0) }
            }
        }
    }

    /// Elements as raw bytes: uint8 arrays (images, PQ codes).
    public func bytes() throws -> [UInt8] {
        try require("|u1", "<u1")
        return [UInt8](data)
    }

    /// Rows of a 2-D float array.
    public func floatRows() throws -> [[Float]] {
        let flat = try floats()
        let width = shape.count > 1 ? shape[1...].reduce(1, *) : 1
        return stride(from: 0, to: flat.count, by: max(width, 1)).map { Array(flat[$0 ..< $0 + width]) }
    }

    /// Rows of a 2-D integer array.
    public func intRows() throws -> [[Int]] {
        let flat = try ints()
        let width = shape.count > 1 ? shape[1...].reduce(1, *) : 1
        return stride(from: 0, to: flat.count, by: max(width, 1)).map { Array(flat[$0 ..< $0 + width]) }
    }
}

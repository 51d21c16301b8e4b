// JSON read with number literals kept verbatim, and written as Python's json.dumps(sort_keys=True):
// the store's preprocess_sha256 is a hash of that exact text (runtime/bundle/manifest.py).
// Hand-written: Foundation's JSONSerialization loses the int/float distinction (255 vs 255.0) and
// formats differently, so its output cannot reproduce Python's bytes.
import Foundation

public indirect enum JSONValue: Equatable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(String)  // the literal as written, which Python's repr reproduces for Python-written files
    case bool(Bool)
    case null
}

public enum PythonJSON {
    public static func parse(_ data: Data) throws -> JSONValue {
        var reader = Reader(bytes: [UInt8](data))
        let value = try reader.value()
        reader.skipSpace()
        guard reader.at == reader.bytes.count else { throw reader.fail("trailing characters") }
        return value
    }

    /// json.dumps(value, sort_keys=True) with Python's defaults: ", " and ": " separators, ASCII only.
    public static func dumpsSorted(_ value: JSONValue) -> String {
        switch value {
        case .object(let members):
            let keys = members.keys.sorted { $0.unicodeScalars.map(\.value).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
            return "{" + keys.map { quote($0) + ": " + dumpsSorted(members[$0]!) }.joined(separator: ", ") + "}"
        case .array(let items):
            return "[" + items.map(dumpsSorted).joined(separator: ", ") + "]"
        case .string(let text):
            return quote(text)
        case .number(let literal):
            return literal
        case .bool(let flag):
            return flag ? "true" : "false"
        case .null:
            return "null"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value >= 0x20 && scalar.value <= 0x7e {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value > 0xffff {  // as a UTF-16 surrogate pair, like Python
                    let v = scalar.value - 0x10000
                    out += String(format: "\\u%04x\\u%04x", 0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff))
                } else {
                    out += String(format: "\\u%04x", scalar.value)
                }
            }
        }
        return out + "\""
    }

    struct Reader {
        let bytes: [UInt8]
        var at = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ why: String) -> BundleError {
            BundleError.malformed("invalid JSON at byte \(at): \(why)")
        }

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[at]) { at += 1 }
        }

        mutating func expect(_ literal: String) throws {
            let want = Array(literal.utf8)
            guard at + want.count <= bytes.count, Array(bytes[at ..< at + want.count]) == want else {
                throw fail("expected \(literal)")
            }
            at += want.count
        }

        mutating func value() throws -> JSONValue {
            skipSpace()
            guard at < bytes.count else { throw fail("unexpected end") }
            switch bytes[at] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            default: return .number(try number())
            }
        }

        mutating func object() throws -> JSONValue {
            at += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            while true {
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                skipSpace()
                try expect(":")
                members[key] = try value()
                skipSpace()
                guard at < bytes.count else { throw fail("unterminated object") }
                if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                try expect("}")
                return .object(members)
            }
        }

        mutating func array() throws -> JSONValue {
            at += 1
            var items: [JSONValue] = []
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            while true {
                items.append(try value())
                skipSpace()
                guard at < bytes.count else { throw fail("unterminated array") }
                if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                try expect("]")
                return .array(items)
            }
        }

        mutating func number() throws -> String {
            let start = at
            let allowed = Set("+-0123456789.eE".utf8)
            while at < bytes.count, allowed.contains(bytes[at]) { at += 1 }
            guard at > start, let literal = String(bytes: bytes[start ..< at], encoding: .ascii),
                  Double(literal) != nil else { throw fail("bad number") }
            return literal
        }

        mutating func hex4() throws -> UInt32 {
            guard at + 4 <= bytes.count, let text = String(bytes: bytes[at ..< at + 4], encoding: .ascii),
                  let v = UInt32(text, radix: 16) else { throw fail("bad \\u escape") }
            at += 4
            return v
        }

        mutating func string() throws -> String {
            at += 1  // opening quote
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []  // undecoded UTF-8 run
            func flush() {
                scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                raw.removeAll()
            }
            while at < bytes.count {
                let byte = bytes[at]
                at += 1
                if byte == UInt8(ascii: "\"") { flush(); return String(scalars) }
                if byte != UInt8(ascii: "\\") { raw.append(byte); continue }
                flush()
                guard at < bytes.count else { break }
                let escape = bytes[at]
                at += 1
                switch escape {
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xd800 ..< 0xdc00).contains(code), at + 6 <= bytes.count, bytes[at] == UInt8(ascii: "\\"),
                       bytes[at + 1] == UInt8(ascii: "u") {
                        at += 2
                        let low = try hex4()
                        if (0xdc00 ..< 0xe000).contains(low) {
                            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
                        } else {
                            at -= 6  // not a low surrogate (and no trap on `low - 0xdc00`): read it on its own
                        }
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: scalars.append(Unicode.Scalar(escape))  // \" \\ \/
                }
            }
            throw fail("unterminated string")
        }
    }
}

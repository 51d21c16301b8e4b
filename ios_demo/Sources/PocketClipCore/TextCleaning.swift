// open_clip's text cleaning (ftfy.fix_text, html.unescape twice, whitespace collapse, lower case)
// without ftfy: its table-driven fixes are reproduced (HTML entities, C1 controls, Latin ligatures,
// full-width forms, curly quotes, terminal escapes, control characters, NFC), as android_demo/core's
// TextCleaning; ftfy's mojibake repair (text decoded with the wrong codec) is not.
// Every comparison is by code point (Swift's String == compares canonically equivalent text as equal).
import Foundation

enum TextCleaning {
    static func clean(_ text: String, lowerCase: Bool = true) -> String {
        let text = unescapeHTML(unescapeHTML(ftfyFixText(text)))
        let collapsed = collapseWhitespace(text)
        return lowerCase ? pythonLower(collapsed) : collapsed
    }

    /// ftfy.fix_text: line by line; HTML entities are unescaped ("auto") until the first line holding '<';
    /// each line's fixes repeat until it stops changing.
    static func ftfyFixText(_ text: String) -> String {
        var unescape = true
        var out = String.UnicodeScalarView()
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        for (n, line) in lines.enumerated() {
            var segment = String(String.UnicodeScalarView(line)) + (n < lines.count - 1 ? "\n" : "")
            if unescape && segment.unicodeScalars.contains("<") { unescape = false }
            while true {
                let before = segment
                if unescape { segment = ftfyUnescape(segment) }
                segment = ftfyFixes(segment)
                if segment.unicodeScalars.elementsEqual(before.unicodeScalars) { break }
            }
            out.append(contentsOf: segment.unicodeScalars)
        }
        return String(out)
    }

    /// Python's str.isspace / re's \s: Unicode White_Space plus the four ASCII separators 0x1C-0x1F.
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1c ... 0x1f).contains(s.value)
    }

    /// strip(), runs of whitespace -> one space, strip() (runtime/bundle/tokenizer.py clean_text).
    static func collapseWhitespace(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in text.unicodeScalars {
            if isPythonSpace(s) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(s)
            }
        }
        return String(out)
    }

    /// Python's str.lower: full lower-case mappings, and a capital sigma at the end of a word as final sigma.
    static func pythonLower(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, c) in s.enumerated() {
            if c == "\u{3A3}" {
                out.append(finalSigma(s, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    /// CPython's handle_capital_sigma: \p{cased} \p{case-ignorable}* SIGMA !(\p{case-ignorable}* \p{cased}).
    private static func finalSigma(_ s: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && s[j].properties.isCased else { return false }
        j = i + 1
        while j < s.count && s[j].properties.isCaseIgnorable { j += 1 }
        return j == s.count || !s[j].properties.isCased
    }

    /// One round of ftfy's fixes after unescaping, in ftfy's order (fix_encoding aside).
    static func ftfyFixes(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            let v = s.value
            switch v {
            case 0x80 ... 0x9f:  // fix_c1_controls: C1 controls are Windows-1252 bytes misread as Latin-1
                out.append(Unicode.Scalar(cp1252[Int(v - 0x80)])!)
            case 0x0132, 0x0133, 0x0149, 0x01c4 ... 0x01cc, 0x01f1 ... 0x01f3, 0xfb00 ... 0xfb06:  // fix_latin_ligatures
                out.append(contentsOf: ligatures[v, default: String(s)].unicodeScalars)
            case 0x3000, 0xff01 ... 0xffee:  // fix_character_width: full- and half-width forms
                out.append(contentsOf: String(s).precomposedStringWithCompatibilityMapping.unicodeScalars)
            case 0x02bc, 0x2018 ... 0x201b:  // uncurl_quotes
                out.append("'")
            case 0x201c ... 0x201f:
                out.append("\"")
            default:
                out.append(s)
            }
        }
        let noEscapes = removeTerminalEscapes(String(out))  // before the control characters: it needs the ESC
        var kept = String.UnicodeScalarView()
        for s in noEscapes.unicodeScalars {
            switch s.value {
            case 0x00 ... 0x08, 0x0b, 0x0e ... 0x1f, 0x7f, 0x206a ... 0x206f, 0xfeff, 0xfff9 ... 0xfffc:
                continue  // remove_control_chars
            default:
                kept.append(s)
            }
        }
        return String(kept).precomposedStringWithCanonicalMapping  // NFC
    }

    // ftfy's remove_terminal_escapes: ESC [ digits-or-semicolons letter.
    private static let terminalEscape = try! NSRegularExpression(pattern: #"\x1B\[(?:\d|;)*[a-zA-Z]"#)

    static func removeTerminalEscapes(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{1B}") else { return text }
        return terminalEscape.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "")
    }

    static let ligatures: [UInt32: String] = [
        0x0132: "IJ", 0x0133: "ij", 0x0149: "\u{2BC}n", 0x01c4: "D\u{17D}", 0x01c5: "D\u{17E}", 0x01c6: "d\u{17E}",
        0x01c7: "LJ", 0x01c8: "Lj", 0x01c9: "lj", 0x01ca: "NJ", 0x01cb: "Nj", 0x01cc: "nj",
        0x01f1: "DZ", 0x01f2: "Dz", 0x01f3: "dz", 0xfb00: "ff", 0xfb01: "fi", 0xfb02: "fl", 0xfb03: "ffi",
        0xfb04: "ffl", 0xfb05: "\u{17F}t", 0xfb06: "st",
    ]

    /// Windows-1252 for 0x80-0x9F (Python's html._invalid_charrefs, ftfy's C1 fix).
    static let cp1252: [UInt32] = [0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178]

    /// Python's html.entities.html5 (name, with or without its ';' -> text), from the core's resources.
    static let html5: [String: String] = {
        guard let url = Bundle.module.url(forResource: "html5_entities", withExtension: "tsv"),
              let table = try? String(contentsOf: url, encoding: .utf8) else {
            fatalError("html5_entities.tsv is missing from PocketClipCore's resources")
        }
        var out: [String: String] = [:]
        for line in table.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t")
            guard fields.count == 2 else { continue }
            let scalars = fields[1].split(separator: " ").compactMap { UInt32($0, radix: 16).flatMap { Unicode.Scalar($0) } }
            out[String(fields[0])] = String(String.UnicodeScalarView(scalars))
        }
        return out
    }()

    /// ftfy's entity table: "&name;" for html5's names ending in ';', plus the all-caps forms of lower-case
    /// names that html.unescape leaves alone (e.g. "&NTILDE;" -> "Ñ").
    static let ftfyEntities: [String: String] = {
        var out: [String: String] = [:]
        for (name, text) in html5 where name.hasSuffix(";") {
            out["&" + name] = text
            if name == name.lowercased() {
                let upper = "&" + name.uppercased()
                if unescapeHTML(upper) == upper { out[upper] = text.uppercased() }
            }
        }
        return out
    }()

    /// ftfy's unescape_html: "&#?[0-9A-Za-z]{1,24};" references only.
    static func ftfyUnescape(_ text: String) -> String {
        guard text.unicodeScalars.contains("&") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            guard s[i] == "&", let end = ftfyEntityEnd(s, from: i) else {
                out.append(s[i])
                i += 1
                continue
            }
            let entity = String(String.UnicodeScalarView(s[i ... end]))
            var text = entity
            if let known = ftfyEntities[entity] {
                text = known
            } else if entity.hasPrefix("&#") {
                let unescaped = unescapeHTML(entity)
                if !unescaped.unicodeScalars.contains(";") { text = unescaped }
            }
            out.append(contentsOf: text.unicodeScalars)
            i = end + 1
        }
        return String(out)
    }

    /// Index of the ';' closing a reference that starts at `start` ('&'), or nil.
    private static func ftfyEntityEnd(_ s: [Unicode.Scalar], from start: Int) -> Int? {
        var j = start + 1
        if j < s.count && s[j] == "#" { j += 1 }
        let first = j
        while j < s.count, j - first < 24, isASCIIAlphanumeric(s[j]) { j += 1 }
        guard j > first, j < s.count, s[j] == ";" else { return nil }
        return j
    }

    private static func isASCIIAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        (0x30 ... 0x39).contains(c.value) || (0x41 ... 0x5a).contains(c.value) || (0x61 ... 0x7a).contains(c.value)
    }

    /// Python's html.unescape.
    static func unescapeHTML(_ text: String) -> String {
        guard text.unicodeScalars.contains("&") else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "&", let found = reference(scalars, at: i + 1) else {
                out.append(scalars[i])
                i += 1
                continue
            }
            out.append(contentsOf: found.text.unicodeScalars)
            i += 1 + found.used
        }
        return String(out)
    }

    /// The text a reference starting after '&' stands for, and how many scalars it spans (nil: not one).
    private static func reference(_ s: [Unicode.Scalar], at start: Int) -> (text: String, used: Int)? {
        guard start < s.count else { return nil }
        if s[start] == "#" {
            var j = start + 1
            let hex = j < s.count && (s[j] == "x" || s[j] == "X")
            if hex { j += 1 }
            let digitsStart = j
            while j < s.count, hex ? s[j].properties.isASCIIHexDigit : (0x30 ... 0x39).contains(s[j].value) { j += 1 }
            guard j > digitsStart else { return nil }
            let used = j - start + (j < s.count && s[j] == ";" ? 1 : 0)
            // Python's int() takes any length: leading zeros aside, more than 8 digits is past U+10FFFF.
            let significant = String(String.UnicodeScalarView(s[digitsStart ..< j].drop(while: { $0 == "0" })))
            guard significant.count <= 8, let number = UInt32(significant.isEmpty ? "0" : significant, radix: hex ? 16 : 10) else {
                return ("\u{FFFD}", used)
            }
            return (characterReference(number), used)
        }
        var j = start
        while j < s.count, j - start < 32, !"\t\n\u{0C} <&#;".unicodeScalars.contains(s[j]) { j += 1 }
        guard j > start else { return nil }
        let length = j - start + (j < s.count && s[j] == ";" ? 1 : 0)  // the name and its ';'
        let name = String(String.UnicodeScalarView(s[start ..< start + length]))
        if let text = html5[name] { return (text, length) }
        // the longest known prefix (e.g. "&ampx" -> "&" + "x"), the rest kept as text
        for prefix in stride(from: length - 1, through: 2, by: -1) {
            if let text = html5[String(String.UnicodeScalarView(s[start ..< start + prefix]))] { return (text, prefix) }
        }
        return nil
    }

    private static func characterReference(_ n: UInt32) -> String {
        if n == 0 { return "\u{FFFD}" }
        if n == 0x0d { return "\r" }
        if (0x80 ... 0x9f).contains(n) { return String(Unicode.Scalar(cp1252[Int(n - 0x80)])!) }
        if (0xd800 ... 0xdfff).contains(n) || n > 0x10ffff { return "\u{FFFD}" }
        if (0x01 ... 0x08).contains(n) || (0x0e ... 0x1f).contains(n) || n == 0x0b || (0x7f ... 0x9f).contains(n)
            || (0xfdd0 ... 0xfdef).contains(n) || (n & 0xfffe) == 0xfffe { return "" }
        return String(Unicode.Scalar(n)!)
    }
}

// open_clip's text cleaning (ftfy.fix_text, html.unescape twice, whitespace collapse, lower case)
// without ftfy: the fixes that change ordinary typed text are reproduced (NFC, curly quotes, Latin
// ligatures, full-width forms, C1 and control characters, HTML entities); ftfy's mojibake repair
// (text decoded with the wrong codec) is not, nor are the rarer of HTML5's 2,231 entity names.
import Foundation

enum TextCleaning {
    static func clean(_ text: String) -> String {
        var text = text
        let unescapeInFtfy = !text.contains("<")  // ftfy's unescape_html="auto"
        while true {  // ftfy repeats its fixes until the text stops changing
            let before = text
            if unescapeInFtfy { text = unescapeHTML(text, strict: true) }
            text = ftfyFixes(text)
            if text == before { break }
        }
        text = unescapeHTML(unescapeHTML(text, strict: false), strict: false)
        return collapseWhitespace(text).lowercased()
    }

    /// Python's str.isspace / re's \s: Unicode White_Space plus the four ASCII separators 0x1C-0x1F.
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1c ... 0x1f).contains(s.value)
    }

    /// strip(), runs of whitespace -> one space, strip() (runtime/tokenizer.py clean_text).
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

    static func ftfyFixes(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            let v = s.value
            switch v {
            case 0x80 ... 0x9f:  // fix_c1_controls: C1 controls are Windows-1252 bytes misread as Latin-1
                out.append(Unicode.Scalar(cp1252[Int(v - 0x80)])!)
            case 0x02bc, 0x2018 ... 0x201b:  // uncurl_quotes
                out.append("'")
            case 0x201c ... 0x201f:
                out.append("\"")
            case 0x0132, 0x0133, 0x0149, 0x01c4 ... 0x01cc, 0x01f1 ... 0x01f3, 0xfb00 ... 0xfb06:  // fix_latin_ligatures
                out.append(contentsOf: ligatures[v, default: String(s)].unicodeScalars)
            case 0x3000, 0xff01 ... 0xffee:  // fix_character_width: full- and half-width forms
                out.append(contentsOf: String(s).precomposedStringWithCompatibilityMapping.unicodeScalars)
            case 0x00 ... 0x08, 0x0b, 0x0e ... 0x1f, 0x7f, 0x206a ... 0x206f, 0xfeff, 0xfff9 ... 0xfffc:
                continue  // remove_control_chars
            default:
                out.append(s)
            }
        }
        return String(out).precomposedStringWithCanonicalMapping  // NFC
    }

    static let ligatures: [UInt32: String] = [
        0x0132: "IJ", 0x0133: "ij", 0x0149: "\u{2BC}n", 0x01c4: "D\u{17D}", 0x01c5: "D\u{17E}", 0x01c6: "d\u{17E}",
        0x01c7: "LJ", 0x01c8: "Lj", 0x01c9: "lj", 0x01ca: "NJ", 0x01cb: "Nj", 0x01cc: "nj",
        0x01f1: "DZ", 0x01f2: "Dz", 0x01f3: "dz", 0xfb00: "ff", 0xfb01: "fi", 0xfb02: "fl", 0xfb03: "ffi",
        0xfb04: "ffl", 0xfb05: "\u{17F}t", 0xfb06: "st",
    ]

    /// Windows-1252 for 0x80-0x9F (Python's html._invalid_charrefs, ftfy's C1 fix).
    static let cp1252: [UInt32] = [0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178]

    /// HTML entity name -> (text, also valid without the semicolon, as HTML's legacy names are).
    static let entities: [String: (text: String, legacy: Bool)] = [
        "amp": ("\u{26}", true),
        "lt": ("\u{3C}", true),
        "Lt": ("\u{226A}", false),
        "gt": ("\u{3E}", true),
        "Gt": ("\u{226B}", false),
        "quot": ("\u{22}", true),
        "apos": ("\u{27}", false),
        "nbsp": ("\u{A0}", true),
        "copy": ("\u{A9}", true),
        "reg": ("\u{AE}", true),
        "trade": ("\u{2122}", false),
        "hellip": ("\u{2026}", false),
        "mdash": ("\u{2014}", false),
        "ndash": ("\u{2013}", false),
        "lsquo": ("\u{2018}", false),
        "rsquo": ("\u{2019}", false),
        "ldquo": ("\u{201C}", false),
        "rdquo": ("\u{201D}", false),
        "laquo": ("\u{AB}", true),
        "raquo": ("\u{BB}", true),
        "deg": ("\u{B0}", true),
        "middot": ("\u{B7}", true),
        "bull": ("\u{2022}", false),
        "euro": ("\u{20AC}", false),
        "pound": ("\u{A3}", true),
        "yen": ("\u{A5}", true),
        "cent": ("\u{A2}", true),
        "times": ("\u{D7}", true),
        "divide": ("\u{F7}", true),
        "sect": ("\u{A7}", true),
        "para": ("\u{B6}", true),
        "plusmn": ("\u{B1}", true),
        "frac12": ("\u{BD}", true),
        "frac14": ("\u{BC}", true),
        "frac34": ("\u{BE}", true),
        "iexcl": ("\u{A1}", true),
        "iquest": ("\u{BF}", true),
        "agrave": ("\u{E0}", true),
        "Agrave": ("\u{C0}", true),
        "aacute": ("\u{E1}", true),
        "Aacute": ("\u{C1}", true),
        "acirc": ("\u{E2}", true),
        "Acirc": ("\u{C2}", true),
        "auml": ("\u{E4}", true),
        "Auml": ("\u{C4}", true),
        "egrave": ("\u{E8}", true),
        "Egrave": ("\u{C8}", true),
        "eacute": ("\u{E9}", true),
        "Eacute": ("\u{C9}", true),
        "ecirc": ("\u{EA}", true),
        "Ecirc": ("\u{CA}", true),
        "euml": ("\u{EB}", true),
        "Euml": ("\u{CB}", true),
        "igrave": ("\u{EC}", true),
        "Igrave": ("\u{CC}", true),
        "iacute": ("\u{ED}", true),
        "Iacute": ("\u{CD}", true),
        "icirc": ("\u{EE}", true),
        "Icirc": ("\u{CE}", true),
        "iuml": ("\u{EF}", true),
        "Iuml": ("\u{CF}", true),
        "ograve": ("\u{F2}", true),
        "Ograve": ("\u{D2}", true),
        "oacute": ("\u{F3}", true),
        "Oacute": ("\u{D3}", true),
        "ocirc": ("\u{F4}", true),
        "Ocirc": ("\u{D4}", true),
        "ouml": ("\u{F6}", true),
        "Ouml": ("\u{D6}", true),
        "ugrave": ("\u{F9}", true),
        "Ugrave": ("\u{D9}", true),
        "uacute": ("\u{FA}", true),
        "Uacute": ("\u{DA}", true),
        "ucirc": ("\u{FB}", true),
        "Ucirc": ("\u{DB}", true),
        "uuml": ("\u{FC}", true),
        "Uuml": ("\u{DC}", true),
        "atilde": ("\u{E3}", true),
        "Atilde": ("\u{C3}", true),
        "aring": ("\u{E5}", true),
        "Aring": ("\u{C5}", true),
        "aelig": ("\u{E6}", true),
        "ccedil": ("\u{E7}", true),
        "Ccedil": ("\u{C7}", true),
        "ntilde": ("\u{F1}", true),
        "Ntilde": ("\u{D1}", true),
        "otilde": ("\u{F5}", true),
        "Otilde": ("\u{D5}", true),
        "oslash": ("\u{F8}", true),
        "Oslash": ("\u{D8}", true),
        "yacute": ("\u{FD}", true),
        "Yacute": ("\u{DD}", true),
        "yuml": ("\u{FF}", true),
        "Yuml": ("\u{178}", false),
        "szlig": ("\u{DF}", true),
        "eth": ("\u{F0}", true),
        "thorn": ("\u{FE}", true),
    ]

    /// `strict`: ftfy's unescape (names must end in ';'); otherwise Python's html.unescape.
    static func unescapeHTML(_ text: String, strict: Bool) -> String {
        guard text.contains("&") else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "&", let found = reference(scalars, at: i + 1, strict: strict) else {
                out.append(scalars[i])
                i += 1
                continue
            }
            out.append(contentsOf: found.text.unicodeScalars)
            i += 1 + found.used
        }
        return String(out)
    }

    /// The text a reference starting after '&' stands for, and how many scalars it spans.
    private static func reference(_ s: [Unicode.Scalar], at start: Int, strict: Bool) -> (text: String, used: Int)? {
        guard start < s.count else { return nil }
        if s[start] == "#" {
            var j = start + 1
            let hex = j < s.count && (s[j] == "x" || s[j] == "X")
            if hex { j += 1 }
            let digitsStart = j
            while j < s.count, hex ? s[j].properties.isASCIIHexDigit : (0x30 ... 0x39).contains(s[j].value) { j += 1 }
            guard j > digitsStart else { return nil }
            let digits = String(String.UnicodeScalarView(s[digitsStart ..< j]))
            let semicolon = j < s.count && s[j] == ";"
            if strict && !semicolon { return nil }
            let used = j - start + (semicolon ? 1 : 0)
            guard digits.count <= 8, let number = UInt32(digits, radix: hex ? 16 : 10) else {
                return ("\u{FFFD}", used)
            }
            return (characterReference(number), used)
        }
        var j = start
        while j < s.count, j - start < 32, !"\t\n\u{0C} <&#;".unicodeScalars.contains(s[j]) { j += 1 }
        guard j > start else { return nil }
        let name = String(String.UnicodeScalarView(s[start ..< j]))
        let semicolon = j < s.count && s[j] == ";"
        if semicolon, let entity = entities[name] { return (entity.text, j - start + 1) }
        if strict { return nil }
        // html.unescape: the longest legacy name that prefixes the run, the rest kept as text
        for length in stride(from: name.unicodeScalars.count, through: 2, by: -1) {
            let prefix = String(String.UnicodeScalarView(s[start ..< start + length]))
            if let entity = entities[prefix], entity.legacy { return (entity.text, length) }
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

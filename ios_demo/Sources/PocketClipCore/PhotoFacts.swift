// What a photo says about itself (docs/contracts.md, "Photo facts"; R21), read from its bytes by the rules of
// runtime/facts/photo_facts.py and the Kotlin core's PhotoFacts.kt: date taken, GPS position and the place it
// resolves to, camera make and model, format. The bytes are read by ExifBlock.swift rather than ImageIO's
// CGImageSourceCopyPropertiesAtIndex: ImageIO hands GPS over as a double of its own arithmetic and text already
// decoded, and the contract fixes both (the double `d + m/60 + s/3600`, UTF-8 else Latin-1), so the one byte reader
// of the three platforms gives the same columns. Nothing here fails a photo: a value that breaks a rule is absent.
import Foundation

/// One photo's facts, as the store's photos columns hold them (nil: absent).
public struct PhotoFacts: Equatable {
    public var takenAt: String?
    public var takenOffset: String?
    public var takenSource: String?
    public var latitude: Double?
    public var longitude: Double?
    public var placeCity: String?
    public var placeRegion: String?
    public var placeCountry: String?
    public var cameraMake: String?
    public var cameraModel: String?
    public var format: String?

    public init(takenAt: String? = nil, takenOffset: String? = nil, takenSource: String? = nil, latitude: Double? = nil,
                longitude: Double? = nil, placeCity: String? = nil, placeRegion: String? = nil, placeCountry: String? = nil,
                cameraMake: String? = nil, cameraModel: String? = nil, format: String? = nil) {
        self.takenAt = takenAt
        self.takenOffset = takenOffset
        self.takenSource = takenSource
        self.latitude = latitude
        self.longitude = longitude
        self.placeCity = placeCity
        self.placeRegion = placeRegion
        self.placeCountry = placeCountry
        self.cameraMake = cameraMake
        self.cameraModel = cameraModel
        self.format = format
    }

    /// The photos columns of the facts (runtime/facts/photo_facts.py COLUMNS), in `values` order.
    public static let columns: [String] = StoreSchema.factColumns.map { $0.name }
    /// An error row's facts, and those of a row whose facts were never read (R21, R22).
    public static let empty = PhotoFacts()
    public static let exif = "exif"
    public static let file = "file"

    /// The values in `columns` order, as the store binds them.
    public var values: [SQLValue] {
        [text(takenAt), text(takenOffset), text(takenSource), real(latitude), real(longitude), text(placeCity),
         text(placeRegion), text(placeCountry), text(cameraMake), text(cameraModel), text(format)]
    }

    private func text(_ v: String?) -> SQLValue { v.map { SQLValue.text($0) } ?? .null }
    private func real(_ v: Double?) -> SQLValue { v.map { SQLValue.real($0) } ?? .null }

    /// The facts of a row's columns, in `columns` order (REAL or INTEGER for a position, as SQLite may hand it back).
    public init(row values: ArraySlice<SQLValue>) {
        let v = Array(values)
        func number(_ value: SQLValue) -> Double? {
            switch value {
            case .real(let d): return d
            case .integer(let i): return Double(i)
            default: return nil
            }
        }
        self.init(takenAt: v[0].string, takenOffset: v[1].string, takenSource: v[2].string, latitude: number(v[3]),
                  longitude: number(v[4]), placeCity: v[5].string, placeRegion: v[6].string, placeCountry: v[7].string,
                  cameraMake: v[8].string, cameraModel: v[9].string, format: v[10].string)
    }

    static let exifIFD = 0x8769, gpsIFD = 0x8825, make = 0x010F, model = 0x0110, dateTaken = 0x9003, offsetTaken = 0x9011
    static let heicBrands: Set<String> = ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"]
    static let avifBrands: Set<String> = ["avif", "avis"]

    /// runtime/indexing/raw.py RAW_SUFFIXES: camera RAW files, by name.
    public static let rawSuffixes: Set<String> = [".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2",
                                                  ".raf", ".orf", ".rw2", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf",
                                                  ".kdc", ".dcr", ".mos", ".mrw", ".rwl"]

    public static func isRaw(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: ".") else { return false }
        return rawSuffixes.contains(name[dot...].lowercased())
    }

    /// The facts of a photo's bytes; `mtimeNs` dates a photo that does not say when it was taken.
    public static func read(_ data: Data, mtimeNs: Int64, raw: Bool, places: Places?) -> PhotoFacts {
        read([UInt8](data), mtimeNs: mtimeNs, raw: raw, places: places)
    }

    public static func read(_ bytes: [UInt8], mtimeNs: Int64, raw: Bool, places: Places?) -> PhotoFacts {
        let exif = Exif.of(bytes) ?? Exif(ifd0: [:], sub: [:], gps: [:])
        let taken = exifDate(exif.sub[dateTaken])
        var latitude = degrees(exif.gps[2], exif.gps[1], "N", "S", 90)
        var longitude = degrees(exif.gps[4], exif.gps[3], "E", "W", 180)
        if latitude == nil || longitude == nil || (latitude == 0 && longitude == 0) {  // 0,0: a phone without a fix
            latitude = nil
            longitude = nil
        }
        var place: Place?
        if let places, let latitude, let longitude { place = places.resolve(latitude: latitude, longitude: longitude) }
        return PhotoFacts(takenAt: taken ?? fileTime(mtimeNs), takenOffset: taken != nil ? exifOffset(exif.sub[offsetTaken]) : "+00:00",
                          takenSource: taken != nil ? Self.exif : Self.file, latitude: latitude, longitude: longitude,
                          placeCity: place?.city, placeRegion: place?.region, placeCountry: place?.country,
                          cameraMake: exifText(exif.ifd0[make]), cameraModel: exifText(exif.ifd0[model]),
                          format: format(bytes, raw: raw))
    }

    /// The file's time in UTC, whole seconds (floor), as "YYYY-MM-DDTHH:MM:SS".
    public static func fileTime(_ mtimeNs: Int64) -> String {
        let seconds = mtimeNs >= 0 ? mtimeNs / 1_000_000_000 : -((-(mtimeNs + 1)) / 1_000_000_000) - 1
        let days = seconds >= 0 ? seconds / 86_400 : -((-(seconds + 1)) / 86_400) - 1
        let rest = seconds - days * 86_400
        // days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return iso(Int(year), Int(month), Int(day), Int(rest / 3600), Int(rest % 3600 / 60), Int(rest % 60))
    }

    static func iso(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> String {
        String(format: "%04ld-%02ld-%02ldT%02ld:%02ld:%02ld", y, mo, d, h, mi, s)
    }

    /// The format the first bytes say (a RAW's container is TIFF or its own: `raw` is the name's verdict).
    public static func format(_ bytes: [UInt8], raw: Bool) -> String? {
        let head = Array(bytes.prefix(64))
        func at(_ offset: Int, _ text: String) -> Bool { ExifBlock.startsWith(head, offset, Array(text.utf8)) }
        if head.count >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF { return "jpeg" }
        if ExifBlock.startsWith(head, 0, ExifContainers.png) { return "png" }
        if at(0, "GIF87a") || at(0, "GIF89a") { return "gif" }
        if at(0, "RIFF") && at(8, "WEBP") { return "webp" }
        if at(0, "BM") { return "bmp" }
        if let iso = isoFormat(head, raw: raw) { return iso }
        if raw { return "raw" }
        if at(0, "II*\u{0}") || at(0, "MM\u{0}*") { return "tiff" }
        return nil
    }

    /// An ftyp box's verdict: avif for an AVIF brand; heic for a HEIF brand, unless the name is a RAW's.
    private static func isoFormat(_ head: [UInt8], raw: Bool) -> String? {
        guard ExifBlock.startsWith(head, 4, Array("ftyp".utf8)) else { return nil }
        let size = ExifContainers.u32(head, 0)
        var brands = Set<String>()
        if head.count >= 12 { brands.insert(ExifContainers.fourcc(head, 8)) }
        var i = 16  // the compatible brands, within the box and the first 64 bytes
        while Int64(i) < min(size, Int64(head.count)) - 3 {
            brands.insert(ExifContainers.fourcc(head, i))
            i += 4
        }
        if !brands.isDisjoint(with: avifBrands) { return "avif" }
        if !brands.isDisjoint(with: heicBrands) && !raw { return "heic" }
        return nil
    }

    /// An EXIF text value: up to its first NUL, UTF-8 if valid else Latin-1, trimmed (Python's whitespace); nil if empty.
    static func exifText(_ entry: ExifEntry?) -> String? { entry?.bytes.flatMap(text) }

    static func text(_ bytes: [UInt8]) -> String? {
        let cut = Array(bytes.prefix(while: { $0 != 0 }))
        let decoded = String(validatingUTF8: cut.map { CChar(bitPattern: $0) } + [0])
            ?? String(String.UnicodeScalarView(cut.map { Unicode.Scalar($0) }))
        let stripped = pythonStrip(decoded)
        return stripped.isEmpty ? nil : stripped
    }

    /// str.strip(): the characters Python counts as whitespace.
    private static func pythonStrip(_ s: String) -> String {
        func space(_ c: Unicode.Scalar) -> Bool {
            [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F,
             0x3000].contains(c.value) || (0x2000 ... 0x200A).contains(c.value)
        }
        let scalars = Array(s.unicodeScalars)
        var from = 0, to = scalars.count
        while from < to && space(scalars[from]) { from += 1 }
        while to > from && space(scalars[to - 1]) { to -= 1 }
        return String(String.UnicodeScalarView(scalars[from ..< to]))
    }

    /// Python's `\d` (any Unicode decimal digit) and int() of it.
    private static func digits(_ scalars: [Unicode.Scalar], _ from: Int, _ count: Int) -> Int? {
        var v = 0
        for c in scalars[from ..< from + count] {
            guard c.properties.numericType == .decimal, let n = c.properties.numericValue else { return nil }
            v = v * 10 + Int(n)
        }
        return v
    }

    /// "YYYY:MM:DD HH:MM:SS" that is a real date and time, as "YYYY-MM-DDTHH:MM:SS"; else nil.
    static func exifDate(_ entry: ExifEntry?) -> String? {
        guard let text = exifText(entry) else { return nil }
        let s = Array(text.unicodeScalars)
        guard s.count == 19, s[4] == ":", s[7] == ":", s[10] == " ", s[13] == ":", s[16] == ":",
              let year = digits(s, 0, 4), let month = digits(s, 5, 2), let day = digits(s, 8, 2),
              let hour = digits(s, 11, 2), let minute = digits(s, 14, 2), let second = digits(s, 17, 2) else { return nil }
        guard year >= 1, (1 ... 12).contains(month), hour <= 23, minute <= 59, second <= 59 else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day >= 1, day <= lengths[month - 1] else { return nil }  // February 30th
        return iso(year, month, day, hour, minute, second)
    }

    /// "[+-]HH:MM" with HH <= 14 and MM < 60, as written; else nil.
    static func exifOffset(_ entry: ExifEntry?) -> String? {
        guard let text = exifText(entry) else { return nil }
        let s = Array(text.unicodeScalars)
        guard s.count == 6, s[0] == "+" || s[0] == "-", s[3] == ":", let hours = digits(s, 1, 2),
              let minutes = digits(s, 4, 2), hours <= 14, minutes < 60 else { return nil }
        return text
    }

    /// Three values (degrees, minutes, seconds: rationals, or integers as x/1) and a reference letter as signed
    /// decimal degrees: `d + m/60 + s/3600`, each numerator/denominator in double, added left to right.
    static func degrees(_ value: ExifEntry?, _ ref: ExifEntry?, _ positive: String, _ negative: String,
                        _ limit: Double) -> Double? {
        let letter = exifText(ref)
        guard let value, letter == positive || letter == negative else { return nil }
        guard let parts = value.rationals ?? value.integers?.map({ ($0, Int64(1)) }), parts.count == 3 else { return nil }
        if parts.contains(where: { $0.1 == 0 || (value.type == 16 && $0.0 < 0) }) { return nil }
        let v = parts.map { Double($0.0) / Double($0.1) }
        let result = v[0] + v[1] / 60.0 + v[2] / 3600.0
        guard result >= 0, result <= limit else { return nil }
        return letter == negative ? -result : result
    }
}

/// The three IFDs the facts come from.
struct Exif {
    let ifd0: [Int: ExifEntry]
    let sub: [Int: ExifEntry]
    let gps: [Int: ExifEntry]

    static func of(_ bytes: [UInt8]) -> Exif? {
        guard let block = ExifBlock.of(bytes) else { return nil }
        let ifd0 = block.ifd(block.first)
        guard let exifIFD = pointed(block, ifd0[PhotoFacts.exifIFD]), let gpsIFD = pointed(block, ifd0[PhotoFacts.gpsIFD])
        else { return nil }
        return Exif(ifd0: ifd0, sub: exifIFD, gps: gpsIFD)
    }

    /// The IFD an IFD0 entry points to: its first integer value (Pillow keeps the first of a pointer's values); no
    /// IFD for a pointer of another type; nil (no EXIF at all, as Pillow fails on it) for a negative one.
    private static func pointed(_ block: ExifBlock, _ pointer: ExifEntry?) -> [Int: ExifEntry]? {
        guard let offset = pointer?.integers?.first else { return [:] }
        if offset < 0 { return nil }
        return block.ifd(offset)
    }
}

// The EXIF block of a photo's bytes and the entries of its IFDs, found and read as runtime/facts/photo_facts.py's
// Pillow finds and reads them (docs/contracts.md, "Photo facts"), the Kotlin core's ExifBlock.kt line for line:
// JPEG's APP1 `Exif\0\0` segment, PNG's eXIf chunk, WebP's EXIF chunk, a TIFF's (DNG's, NEF's, ...) own IFD0,
// HEIC's and AVIF's Exif item. Every read is bounds-checked: a broken block gives what could be read before the
// break, never a trap.
import Foundation

/// One IFD entry: its TIFF type and its value's bytes (count x the type's size), in the block's byte order.
public struct ExifEntry {
    public static let byte = 1
    public static let ascii = 2
    public static let rational = 5
    public static let undefined = 7
    public static let srational = 10
    static let integerSizes: [Int: Int] = [3: 2, 4: 4, 6: 1, 8: 2, 9: 4, 13: 4, 16: 8]
    static let signed: Set<Int> = [6, 8, 9]
    /// Bytes per value of each type Pillow reads; an entry of another type is skipped.
    static let sizes: [Int: Int] = integerSizes.merging([byte: 1, ascii: 1, rational: 8, undefined: 1, srational: 8,
                                                         11: 4, 12: 8]) { first, _ in first }

    public let type: Int
    public let count: Int64
    public let data: [UInt8]
    let bigEndian: Bool

    /// The bytes of a text value: ASCII, BYTE and UNDEFINED entries (Pillow hands those over as text or bytes).
    public var bytes: [UInt8]? { type == Self.ascii || type == Self.byte || type == Self.undefined ? data : nil }

    /// The values of an integer entry (SHORT, LONG, SBYTE, SSHORT, SLONG, IFD, LONG8), else nil.
    public var integers: [Int64]? {
        guard let size = Self.integerSizes[type] else { return nil }
        return (0 ..< data.count / size).map { i in
            let v = Int64(bitPattern: number(i * size, size))
            guard Self.signed.contains(type) else { return v }
            let shift = Int64(64 - 8 * size)
            return (v << shift) >> shift
        }
    }

    /// The (numerator, denominator) pairs of a RATIONAL or SRATIONAL entry, else nil.
    public var rationals: [(Int64, Int64)]? {
        guard type == Self.rational || type == Self.srational else { return nil }
        return (0 ..< data.count / 8).map { i in
            let num = number(i * 8, 4), den = number(i * 8 + 4, 4)
            if type == Self.srational {
                return (Int64(Int32(truncatingIfNeeded: num)), Int64(Int32(truncatingIfNeeded: den)))
            }
            return (Int64(num), Int64(den))
        }
    }

    private func number(_ at: Int, _ size: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0 ..< size { v = (v << 8) | UInt64(data[at + (bigEndian ? k : size - 1 - k)]) }
        return v
    }
}

/// A TIFF structure (an EXIF block, or a TIFF file itself): a header and IFDs at offsets from its first byte.
public struct ExifBlock {
    let bytes: [UInt8]
    let bigEndian: Bool
    static let exifHeader: [UInt8] = [0x45, 0x78, 0x69, 0x66, 0, 0]  // "Exif\0\0"
    // Pillow's classic TIFF headers (BigTIFF is not read: no camera writes one into an EXIF block)
    static let headers: [[UInt8]] = [[0x49, 0x49, 0x2A, 0], [0x4D, 0x4D, 0, 0x2A], [0x4D, 0x4D, 0x2A, 0], [0x49, 0x49, 0, 0x2A]]

    /// The EXIF block of a photo's bytes, or nil (none, or not a TIFF structure).
    public static func of(_ bytes: [UInt8]) -> ExifBlock? {
        if headers.contains(where: { startsWith(bytes, 0, $0) }) { return tiff(bytes) }  // a TIFF, DNG, NEF...: its IFD0
        return ExifContainers.exifPayload(bytes).flatMap(ofPayload)
    }

    /// An EXIF payload as Pillow's Exif.load takes it: up to two `Exif\0\0` prefixes dropped, then a TIFF header.
    static func ofPayload(_ payload: [UInt8]) -> ExifBlock? {
        var at = 0
        for _ in 0 ..< 2 where startsWith(payload, at, exifHeader) { at += 6 }
        return tiff(Array(payload[at...]))
    }

    private static func tiff(_ bytes: [UInt8]) -> ExifBlock? {
        guard bytes.count >= 8, headers.contains(where: { startsWith(bytes, 0, $0) }) else { return nil }
        return ExifBlock(bytes: bytes, bigEndian: bytes[0] == 0x4D)
    }

    static func startsWith(_ bytes: [UInt8], _ at: Int, _ prefix: [UInt8]) -> Bool {
        at >= 0 && at + prefix.count <= bytes.count && bytes[at ..< at + prefix.count].elementsEqual(prefix)
    }

    private var size: Int64 { Int64(bytes.count) }

    /// `n` bytes at `at` as an unsigned number; the caller has checked they are inside the block.
    private func u(_ at: Int64, _ n: Int) -> Int64 {
        var v: Int64 = 0
        for k in 0 ..< n { v = (v << 8) | Int64(bytes[Int(at) + (bigEndian ? k : n - 1 - k)]) }
        return v
    }

    /// IFD0's offset, from the header.
    public var first: Int64 { u(4, 4) }

    /// The entries of the IFD at `offset`, as Pillow's ImageFileDirectory_v2.load reads them (ExifBlock.kt's ifd).
    public func ifd(_ offset: Int64) -> [Int: ExifEntry] {
        var found: [Int: ExifEntry] = [:]
        guard offset >= 0, offset <= size - 2 else { return found }
        let count = u(offset, 2)
        var pos = offset + 2
        var total: Int64 = 0
        for _ in 0 ..< count {
            if pos + 12 > size { break }
            let tag = Int(u(pos, 2)), type = Int(u(pos + 2, 2)), values = u(pos + 4, 4)
            let inline = pos + 8
            pos += 12
            if found[tag] != nil { continue }
            guard let unit = ExifEntry.sizes[type] else { continue }
            let length = values * Int64(unit)
            let at = length > 4 ? u(inline, 4) : inline
            if length > 4 {
                total += length
                if total > size { continue }
                if at + length > size { break }
            } else if length == 0 {
                continue
            }
            found[tag] = ExifEntry(type: type, count: values, data: Array(bytes[Int(at) ..< Int(at + length)]),
                                   bigEndian: bigEndian)
        }
        return found
    }
}

/// Where each container keeps its EXIF payload.
enum ExifContainers {
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 13, 10, 26, 10]

    static func exifPayload(_ b: [UInt8]) -> [UInt8]? {
        if b.count >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF { return jpeg(b) }
        if ExifBlock.startsWith(b, 0, png) { return pngChunk(b) }
        if ExifBlock.startsWith(b, 0, Array("RIFF".utf8)) && ExifBlock.startsWith(b, 8, Array("WEBP".utf8)) { return webp(b) }
        if ExifBlock.startsWith(b, 4, Array("ftyp".utf8)) { return IsoBmff(b: b).exif() }
        return nil
    }

    static func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) << 8 | Int(b[at + 1]) }
    static func u32(_ b: [UInt8], _ at: Int) -> Int64 { Int64(u16(b, at)) << 16 | Int64(u16(b, at + 2)) }
    static func le32(_ b: [UInt8], _ at: Int) -> Int64 { (0 ..< 4).reduce(Int64(0)) { $0 | Int64(b[at + $1]) << (8 * $1) } }
    static func fourcc(_ b: [UInt8], _ at: Int) -> String { String(decoding: b[at ..< at + 4], as: Unicode.ASCII.self) }

    /// The markers up to the start of scan, as Pillow walks them: the first APP1 `Exif\0\0` segment, with the
    /// payload of any later one appended (a block split over segments).
    static func jpeg(_ b: [UInt8]) -> [UInt8]? {
        var pos = 2
        var found: [UInt8]?
        while pos + 1 < b.count {
            if b[pos] != 0xFF { pos += 1; continue }  // junk between segments
            let marker = Int(b[pos + 1])
            if marker == 0xFF { pos += 1; continue }  // a fill byte
            if marker == 0x00 || marker == 0xC8 || (0xD0 ... 0xD9).contains(marker) || (0xF0 ... 0xFD).contains(marker) {
                pos += 2
                continue
            }
            if marker < 0xC0 { break }  // not a marker Pillow knows: it stops reading
            if pos + 4 > b.count { break }
            let length = max(0, u16(b, pos + 2) - 2), from = pos + 4
            if from + length > b.count { break }
            if marker == 0xE1 && length >= 6 && ExifBlock.startsWith(b, from, ExifBlock.exifHeader) {
                if found == nil { found = Array(b[from ..< from + length]) } else { found! += b[from + 6 ..< from + length] }
            }
            if marker == 0xDA { break }  // start of scan: the EXIF block comes before it
            pos = from + length
        }
        return found
    }

    /// The last eXIf chunk before the image data, else the last one after it (Pillow reads those on demand).
    static func pngChunk(_ b: [UInt8]) -> [UInt8]? {
        var pos = 8
        var before: [UInt8]?, after: [UInt8]?
        var inData = false
        while pos + 8 <= b.count {
            let length = u32(b, pos), type = fourcc(b, pos + 4), from = pos + 8
            if Int64(from) + length > Int64(b.count) || type == "IEND" { break }
            if type == "IDAT" { inData = true }
            if type == "eXIf" {
                let chunk = Array(b[from ..< from + Int(length)])
                if inData { after = chunk } else { before = chunk }
            }
            pos = from + Int(length) + 4  // and its CRC
        }
        return before ?? after
    }

    /// The first EXIF chunk of an extended (VP8X) WebP, as libwebp's demuxer gives it.
    static func webp(_ b: [UInt8]) -> [UInt8]? {
        var pos = 12
        while pos + 8 <= b.count {
            let type = fourcc(b, pos), length = le32(b, pos + 4), from = pos + 8
            if Int64(from) + length > Int64(b.count) || (pos == 12 && type != "VP8X") { return nil }
            if type == "EXIF" { return Array(b[from ..< from + Int(length)]) }
            pos = from + Int(length) + Int(length & 1)  // chunks are padded to even sizes
        }
        return nil
    }
}

/// The Exif item of a HEIC or AVIF file (ISO/IEC 23008-12): the item of type `Exif` that describes (`cdsc`) the
/// primary item, its extents joined, its 4-byte TIFF header offset skipped as pillow-heif skips it.
struct IsoBmff {
    let b: [UInt8]
    private struct OutOfRange: Error {}
    private struct Box { let type: String; let from: Int; let to: Int }
    private struct Location { let method: Int; let extents: [(Int64, Int64)] }

    private func number(_ at: Int, _ size: Int) throws -> Int64 {
        guard at >= 0, size >= 0, at + size <= b.count, size <= 8 else { throw OutOfRange() }
        var v: UInt64 = 0
        for k in 0 ..< size { v = (v << 8) | UInt64(b[at + k]) }
        return Int64(bitPattern: v)
    }

    private func fourcc(_ at: Int) throws -> String {
        guard at >= 0, at + 4 <= b.count else { throw OutOfRange() }
        return ExifContainers.fourcc(b, at)
    }

    private func byte(_ at: Int) throws -> Int { Int(try number(at, 1)) }

    private func boxes(_ from: Int, _ to: Int) throws -> [Box] {
        var found: [Box] = []
        var pos = from
        while pos + 8 <= to {
            var size = try number(pos, 4), header = 8
            if size == 1 {
                if pos + 16 > to { break }
                size = try number(pos + 8, 8)
                header = 16
            } else if size == 0 {
                size = Int64(to - pos)
            }
            if size < Int64(header) || size > Int64(to - pos) { break }
            found.append(Box(type: try fourcc(pos + 4), from: pos + header, to: pos + Int(size)))
            pos += Int(size)
        }
        return found
    }

    func exif() -> [UInt8]? { (try? read()) ?? nil }

    private func read() throws -> [UInt8]? {
        guard let meta = try boxes(0, b.count).first(where: { $0.type == "meta" }) else { return nil }
        let children = try boxes(meta.from + 4, meta.to)  // meta is a full box: version and flags first
        guard let pitm = children.first(where: { $0.type == "pitm" }) else { return nil }
        let primary = try number(pitm.from + 4, try byte(pitm.from) == 0 ? 2 : 4)
        guard let iinf = children.first(where: { $0.type == "iinf" }) else { return nil }
        var exifItems: [Int64] = []
        let countSize = try byte(iinf.from) == 0 ? 2 : 4
        for infe in try boxes(iinf.from + 4 + countSize, iinf.to) where infe.type == "infe" {
            switch try byte(infe.from) {
            case 2: if try fourcc(infe.from + 8) == "Exif" { exifItems.append(try number(infe.from + 4, 2)) }
            case 3: if try fourcc(infe.from + 10) == "Exif" { exifItems.append(try number(infe.from + 4, 4)) }
            default: break
            }
        }
        var describes = Set<Int64>()  // items with a cdsc reference to the primary item
        if let iref = children.first(where: { $0.type == "iref" }) {
            let idSize = try byte(iref.from) == 0 ? 2 : 4
            for ref in try boxes(iref.from + 4, iref.to) where ref.type == "cdsc" {
                let from = try number(ref.from, idSize), count = Int(try number(ref.from + idSize, 2))
                for i in 0 ..< count {
                    let to = try number(ref.from + idSize + 2 + i * idSize, idSize)
                    if to == primary { describes.insert(from) }
                }
            }
        }
        guard let iloc = children.first(where: { $0.type == "iloc" }) else { return nil }
        let locations = try self.locations(iloc)
        let idat = children.first(where: { $0.type == "idat" })
        for id in exifItems where describes.contains(id) {
            guard let location = locations[id] else { continue }
            var item: [UInt8] = []
            for (offset, length) in location.extents {
                let base: Int64, end: Int64
                if location.method == 1 {
                    guard let idat else { return nil }
                    base = Int64(idat.from)
                    end = Int64(idat.to)
                } else {
                    base = 0
                    end = Int64(b.count)
                }
                guard offset >= 0, length >= 0, offset <= end, length <= end else { return nil }
                let to = length == 0 ? end : base + offset + length
                guard base + offset <= to, to <= end else { return nil }
                item += b[Int(base + offset) ..< Int(to)]
            }
            let payload = tiffPart(item)
            if !payload.isEmpty { return payload }
        }
        return nil
    }

    /// pillow-heif's _retrieve_exif: the bytes after the 4-byte offset and the offset's bytes (an `Exif\0\0` kept).
    private func tiffPart(_ item: [UInt8]) -> [UInt8] {
        guard item.count >= 4 else { return [] }
        var skip = ExifContainers.u32(item, 0) + 4
        if Int64(item.count) - skip <= 4 {
            skip = 4
        } else if skip >= 6 && ExifBlock.startsWith(item, Int(skip - 6), ExifBlock.exifHeader) {
            skip -= 6
        }
        return Array(item[Int(skip)...])
    }

    private func locations(_ iloc: Box) throws -> [Int64: Location] {
        let version = try byte(iloc.from)
        var pos = iloc.from + 4
        let sizes = try byte(pos), moreSizes = try byte(pos + 1)
        let offsetSize = (sizes >> 4) & 15, lengthSize = sizes & 15, baseSize = (moreSizes >> 4) & 15
        let indexSize = version == 1 || version == 2 ? moreSizes & 15 : 0
        pos += 2
        let idSize = version < 2 ? 2 : 4
        let count = try number(pos, idSize)
        pos += idSize
        var found: [Int64: Location] = [:]
        for _ in 0 ..< count {
            let id = try number(pos, idSize)
            pos += idSize
            var method = 0
            if version == 1 || version == 2 {
                method = Int(try number(pos, 2)) & 15
                pos += 2
            }
            pos += 2  // data_reference_index
            let base = try number(pos, baseSize)
            pos += baseSize
            let extents = try number(pos, 2)
            pos += 2
            var list: [(Int64, Int64)] = []
            for _ in 0 ..< extents {
                pos += indexSize
                let offset = try number(pos, offsetSize), length = try number(pos + offsetSize, lengthSize)
                pos += offsetSize + lengthSize
                guard base >= 0, offset >= 0, base <= Int64(b.count), offset <= Int64(b.count) else { throw OutOfRange() }
                list.append((base + offset, length))
            }
            if found[id] == nil { found[id] = Location(method: method, extents: list) }
        }
        return found
    }
}

import Foundation
import XCTest
import zlib
@testable import PocketClipCore

/// An EXIF block built entry by entry, as a camera writes one: IFD0, the Exif IFD and the GPS IFD, then the values
/// (the Kotlin test's TiffWriter).
struct TiffWriter {
    struct Entry { let tag: Int; let type: Int; let count: Int; let data: [UInt8] }
    let bigEndian: Bool

    static func ascii(_ tag: Int, _ text: String) -> Entry { bytes(tag, ExifEntry.ascii, Array(text.utf8) + [0]) }
    static func bytes(_ tag: Int, _ type: Int, _ data: [UInt8]) -> Entry { Entry(tag: tag, type: type, count: data.count, data: data) }

    func number(_ v: Int64, _ size: Int) -> [UInt8] {
        (0 ..< size).map { k in UInt8(truncatingIfNeeded: v >> (8 * Int64(bigEndian ? size - 1 - k : k))) }
    }

    func rationals(_ tag: Int, _ values: [(Int64, Int64)]) -> Entry {
        Entry(tag: tag, type: ExifEntry.rational, count: values.count, data: values.flatMap { number($0.0, 4) + number($0.1, 4) })
    }

    /// The block: IFD0 at 8, pointing to the Exif IFD (0x8769) and the GPS IFD (0x8825) when they have entries.
    func build(ifd0: [Entry], exif: [Entry] = [], gps: [Entry] = []) -> [UInt8] {
        let pointers = (exif.isEmpty ? [] : [Entry(tag: 0x8769, type: 4, count: 1, data: [])])
            + (gps.isEmpty ? [] : [Entry(tag: 0x8825, type: 4, count: 1, data: [])])
        let ifds = [ifd0 + pointers, exif, gps].filter { !$0.isEmpty }
        var starts = [8]
        for ifd in ifds { starts.append(starts.last! + 2 + 12 * ifd.count + 4) }
        let exifStart = exif.isEmpty ? 0 : starts[1], gpsStart = gps.isEmpty ? 0 : starts[exif.isEmpty ? 1 : 2]
        var data = starts.last!
        var out: [UInt8] = bigEndian ? Array("MM".utf8) : Array("II".utf8)
        out += number(42, 2) + number(8, 4)
        var values: [UInt8] = []
        for ifd in ifds {
            out += number(Int64(ifd.count), 2)
            for entry in ifd {
                out += number(Int64(entry.tag), 2) + number(Int64(entry.type), 2) + number(Int64(entry.count), 4)
                if entry.tag == 0x8769 && entry.data.isEmpty {
                    out += number(Int64(exifStart), 4)
                } else if entry.tag == 0x8825 && entry.data.isEmpty {
                    out += number(Int64(gpsStart), 4)
                } else if entry.data.count <= 4 {
                    out += entry.data + [UInt8](repeating: 0, count: 4 - entry.data.count)
                } else {
                    out += number(Int64(data), 4)
                    values += entry.data
                    data += entry.data.count
                }
            }
            out += number(0, 4)
        }
        return out + values
    }
}

enum PhotoBytes {
    /// A JPEG's first bytes with the block as its APP1 `Exif\0\0` segment (no pixels: facts never need them).
    static func jpeg(_ tiff: [UInt8]?) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16] + Array("JFIF".utf8) + [UInt8](repeating: 0, count: 10)
        if let tiff {
            let payload = Array("Exif".utf8) + [0, 0] + tiff
            out += [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        }
        return out + [0xFF, 0xD9]
    }

    /// A PNG's chunks: IHDR, the block as its eXIf chunk, IDAT, IEND (CRCs as a PNG has them).
    static func png(_ tiff: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 13, 10, 26, 10]
        func chunk(_ type: String, _ data: [UInt8]) {
            let n = UInt32(data.count)
            out += [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
            let body = Array(type.utf8) + data
            out += body
            let crc = UInt32(body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) })
            out += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        }
        chunk("IHDR", [0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0])
        chunk("eXIf", tiff)
        chunk("IDAT", [UInt8](repeating: 0, count: 12))
        chunk("IEND", [])
        return out
    }
}

final class PhotoFactsTest: XCTestCase {
    private let mtime: Int64 = 1_767_225_600_123_456_789  // 2026-01-01T00:00:00.123456789 UTC

    private func sydney(_ bigEndian: Bool) -> [UInt8] {
        let w = TiffWriter(bigEndian: bigEndian)
        return w.build(ifd0: [TiffWriter.ascii(0x010F, "Apple"), TiffWriter.ascii(0x0110, "iPhone 15 Pro")],
                       exif: [TiffWriter.ascii(0x9003, "2023:12:31 23:59:59"), TiffWriter.ascii(0x9011, "+11:00")],
                       gps: [TiffWriter.ascii(1, "S"), w.rationals(2, [(33, 1), (52, 1), (768, 100)]),
                             TiffWriter.ascii(3, "W"), w.rationals(4, [(151, 1), (12, 1), (3348, 100)])])
    }

    func testReadsAJpegsDateOffsetGpsAndCamera() {
        for bigEndian in [true, false] {
            let facts = PhotoFacts.read(PhotoBytes.jpeg(sydney(bigEndian)), mtimeNs: mtime, raw: false, places: nil)
            XCTAssertEqual(facts.takenAt, "2023-12-31T23:59:59")
            XCTAssertEqual(facts.takenOffset, "+11:00")
            XCTAssertEqual(facts.takenSource, "exif")
            XCTAssertEqual(facts.latitude, -(33.0 + 52.0 / 60.0 + (768.0 / 100.0) / 3600.0))  // exactly the contract's double
            XCTAssertEqual(facts.longitude, -(151.0 + 12.0 / 60.0 + (3348.0 / 100.0) / 3600.0))
            XCTAssertEqual(facts.cameraMake, "Apple")
            XCTAssertEqual(facts.cameraModel, "iPhone 15 Pro")
            XCTAssertEqual(facts.format, "jpeg")
            XCTAssertNil(facts.placeCity)  // no places given
        }
    }

    func testReadsAPngsExifChunk() {
        let tiff = TiffWriter(bigEndian: false).build(
            ifd0: [TiffWriter.ascii(0x010F, "  Canon\u{0}\u{0}  "), TiffWriter.bytes(0x0110, ExifEntry.undefined, [0xC9, 0x4F, 0x53])],
            exif: [TiffWriter.ascii(0x9003, "2022:03:01 08:00:00")])
        XCTAssertEqual(PhotoFacts.read(PhotoBytes.png(tiff), mtimeNs: mtime, raw: false, places: nil),
                       PhotoFacts(takenAt: "2022-03-01T08:00:00", takenSource: "exif", cameraMake: "Canon",
                                  cameraModel: "\u{C9}OS", format: "png"))  // up to the NUL, trimmed; not UTF-8: Latin-1
    }

    func testFallsBackToTheFileTime() {
        XCTAssertEqual(PhotoFacts.read(PhotoBytes.jpeg(nil), mtimeNs: mtime, raw: false, places: nil),
                       PhotoFacts(takenAt: "2026-01-01T00:00:00", takenOffset: "+00:00", takenSource: "file", format: "jpeg"))
        XCTAssertEqual(PhotoFacts.fileTime(-1), "1969-12-31T23:59:59")  // floor, not truncation
        let undated = TiffWriter(bigEndian: true).build(ifd0: [TiffWriter.ascii(0x010F, "FUJIFILM")],
                                                        exif: [TiffWriter.ascii(0x9011, "+01:00")])
        XCTAssertEqual(PhotoFacts.read(PhotoBytes.jpeg(undated), mtimeNs: mtime, raw: false, places: nil),
                       PhotoFacts(takenAt: "2026-01-01T00:00:00", takenOffset: "+00:00", takenSource: "file",
                                  cameraMake: "FUJIFILM", format: "jpeg"))
    }

    func testMalformedBlocksGiveAbsentValues() {
        let w = TiffWriter(bigEndian: true)
        func facts(exif: [TiffWriter.Entry] = [], gps: [TiffWriter.Entry] = []) -> PhotoFacts {
            PhotoFacts.read(PhotoBytes.jpeg(w.build(ifd0: [TiffWriter.ascii(0x0110, " ")], exif: exif, gps: gps)),
                            mtimeNs: mtime, raw: false, places: nil)
        }
        for date in ["0000:00:00 00:00:00", "2023:02:29 10:00:00", "2024:07:14 24:00:00", "2024-07-14 18:32:05",
                     "2024:07:14 18:32", ""] {
            XCTAssertEqual(facts(exif: [TiffWriter.ascii(0x9003, date)]).takenSource, "file", date)
        }
        XCTAssertEqual(facts(exif: [TiffWriter.ascii(0x9003, "2024:02:29 10:00:00")]).takenAt, "2024-02-29T10:00:00")
        for offset in ["+15:00", "+01:60", "01:00", "+1:00", "Z"] {
            let got = facts(exif: [TiffWriter.ascii(0x9003, "2024:07:14 18:32:05"), TiffWriter.ascii(0x9011, offset)])
            XCTAssertEqual(got.takenSource, "exif")
            XCTAssertNil(got.takenOffset, offset)
        }
        func lat(_ v: [(Int64, Int64)]) -> TiffWriter.Entry { w.rationals(2, v) }
        func lon(_ v: [(Int64, Int64)]) -> TiffWriter.Entry { w.rationals(4, v) }
        let ok: [(Int64, Int64)] = [(38, 1), (42, 1), (50, 1)]
        let north = TiffWriter.ascii(1, "N"), east = TiffWriter.ascii(3, "E")
        XCTAssertEqual(facts(gps: [north, lat(ok), east, lon(ok)]).latitude, 38.0 + 42.0 / 60.0 + 50.0 / 3600.0)
        for gps in [
            [TiffWriter.ascii(1, "X"), lat(ok), east, lon(ok)],  // not N or S
            [north, lat(ok), TiffWriter.ascii(3, "e"), lon(ok)],  // not E or W
            [north, lat(ok), east],  // no longitude
            [north, lat([(38, 0), (1, 1), (1, 1)]), east, lon(ok)],  // a zero denominator
            [north, lat([(91, 1), (0, 1), (0, 1)]), east, lon(ok)],  // latitude > 90
            [north, lat(ok), east, lon([(180, 1), (0, 1), (1, 1)])],  // longitude > 180
            [north, lat([(38, 1), (42, 1)]), east, lon(ok)],  // two values, not three
            [north, lat([(0, 1), (0, 1), (0, 1)]), east, lon([(0, 1), (0, 1), (0, 1)])],  // 0, 0: no fix
        ] {
            let got = facts(gps: gps)
            XCTAssertNil(got.latitude)
            XCTAssertNil(got.longitude)
            XCTAssertNil(got.cameraModel)  // " ": empty once trimmed
        }
        // Cut anywhere or with bytes changed, a block gives what it can and never traps.
        let whole = PhotoBytes.jpeg(sydney(false))
        for n in 0 ..< whole.count { _ = PhotoFacts.read(Array(whole.prefix(n)), mtimeNs: mtime, raw: false, places: nil) }
        var state: UInt64 = 7
        func next(_ bound: Int) -> Int {  // SplitMix64: the same changes on every run
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
        for _ in 0 ..< 3000 {
            var bytes = whole
            for _ in 0 ..< 1 + next(4) { bytes[next(bytes.count)] = UInt8(next(256)) }
            let got = PhotoFacts.read(bytes, mtimeNs: mtime, raw: false, places: nil)
            XCTAssertTrue(got.takenSource == "exif" || got.takenAt == "2026-01-01T00:00:00")
            XCTAssertTrue((-90 ... 90).contains(got.latitude ?? 0) && (-180 ... 180).contains(got.longitude ?? 0))
        }
        for garbage: [UInt8] in [[], [0xFF, 0xD8, 0xFF], [UInt8](repeating: 0xFF, count: 100)] {
            XCTAssertEqual(PhotoFacts.read(garbage, mtimeNs: mtime, raw: false, places: nil),
                           PhotoFacts(takenAt: "2026-01-01T00:00:00", takenOffset: "+00:00", takenSource: "file",
                                      format: PhotoFacts.format(garbage, raw: false)))
        }
    }

    func testTellsTheFormatFromTheFirstBytes() {
        func b(_ text: String) -> [UInt8] { Array(text.utf8) }
        func ftyp(_ brands: String...) -> [UInt8] {
            [0, 0, 0, UInt8(16 + 4 * (brands.count - 1))] + b("ftyp") + b(brands[0]) + [0, 0, 0, 0]
                + brands.dropFirst().flatMap { b($0) }
        }
        XCTAssertEqual(PhotoFacts.format(b("GIF89a..."), raw: false), "gif")
        XCTAssertEqual(PhotoFacts.format(b("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 "), raw: false), "webp")
        XCTAssertEqual(PhotoFacts.format(b("BM......"), raw: false), "bmp")
        XCTAssertEqual(PhotoFacts.format(ftyp("heic", "mif1", "heic"), raw: false), "heic")
        XCTAssertEqual(PhotoFacts.format(ftyp("isom", "mif1"), raw: false), "heic")
        XCTAssertEqual(PhotoFacts.format(ftyp("mif1", "avif"), raw: false), "avif")
        XCTAssertEqual(PhotoFacts.format(ftyp("avif"), raw: true), "avif")
        XCTAssertEqual(PhotoFacts.format(ftyp("heic"), raw: true), "raw")  // runtime/facts/photo_facts.py: a RAW's name wins
        XCTAssertEqual(PhotoFacts.format(b("II*\u{0}\u{8}\u{0}\u{0}\u{0}"), raw: true), "raw")
        XCTAssertEqual(PhotoFacts.format(b("II*\u{0}\u{8}\u{0}\u{0}\u{0}"), raw: false), "tiff")
        XCTAssertEqual(PhotoFacts.format(b("MM\u{0}*\u{0}\u{0}\u{0}\u{8}"), raw: false), "tiff")
        XCTAssertEqual(PhotoFacts.format(PhotoBytes.jpeg(nil), raw: true), "jpeg")  // a RAW name with JPEG bytes is a JPEG
        XCTAssertNil(PhotoFacts.format(b("plain text"), raw: false))
        XCTAssertNil(PhotoFacts.format(ftyp("crx ", "isom"), raw: false))
        XCTAssertTrue(PhotoFacts.isRaw("DCIM/IMG_1.CR3"))
        XCTAssertFalse(PhotoFacts.isRaw("DCIM/IMG_1.jpg"))
    }
}

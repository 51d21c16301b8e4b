// CLIP's byte-level BPE tokenizer, id for id as runtime/bundle/tokenizer.py (and open_clip's SimpleTokenizer).
// Hand-written: no Swift package ships CLIP's BPE, and the algorithm is ~100 lines; it reads the
// bundle's own merges file so the vocabulary cannot drift from Python's.
import Foundation

public final class ClipTokenizer {
    public let contextLength: Int
    public let sotId: Int
    public let eotId: Int
    public let padId: Int
    public let lowerCase: Bool
    private let encoder: [String: Int]
    private let ranks: [String: Int]  // "first second" -> merge rank
    private let byteSymbols: [String]  // byte -> its printable stand-in (GPT-2's bytes_to_unicode)
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()
    // open_clip's pre-tokeniser: contractions, letter runs, single digits, runs of other non-space symbols.
    private let pattern = try! NSRegularExpression(
        pattern: #"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#, options: [.caseInsensitive])
    private static let startMarker = "<start_of_text>"
    private static let endMarker = "<end_of_text>"

    /// From the bundle: its merges file (gzip or plain text) and the manifest's text spec.
    public convenience init(manifest: Manifest) throws {
        guard let merges = manifest.text.files["merges"] else {
            throw BundleError.malformed("the manifest's text spec names no merges file")
        }
        let url = try manifest.verify(merges)
        var data = try Data(contentsOf: url)
        if url.pathExtension == "gz" { data = try Gunzip.decompress(data) }
        try self.init(merges: String(decoding: data, as: UTF8.self), spec: manifest.text)
    }

    public init(merges text: String, spec: TextSpec) throws {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count > spec.mergesUsed else {
            throw BundleError.malformed("the merges file has \(lines.count - 1) merges, the manifest uses \(spec.mergesUsed)")
        }
        let merges = lines[1 ... spec.mergesUsed].map { $0.split(separator: " ").map(String.init) }
        // ClipTokenizer, not Self: `Self` is self's dynamic type, not usable before every property is set.
        let units = ClipTokenizer.bytesToUnicodeOrder()
        var vocab = units.map { String($0.symbol) }
        vocab += units.map { String($0.symbol) + "</w>" }
        vocab += merges.map { $0.joined() }
        vocab += [ClipTokenizer.startMarker, ClipTokenizer.endMarker]
        var encoder: [String: Int] = [:]
        for (i, token) in vocab.enumerated() { encoder[token] = i }
        var ranks: [String: Int] = [:]
        for (i, pair) in merges.enumerated() where pair.count == 2 {
            ranks[pair[0] + " " + pair[1]] = i  // a repeated merge takes its last rank, as Python's dict
        }
        var symbols = [String](repeating: "", count: 256)
        for unit in units { symbols[Int(unit.byte)] = String(unit.symbol) }
        let start = encoder[ClipTokenizer.startMarker], end = encoder[ClipTokenizer.endMarker]
        guard start == spec.sotId, end == spec.eotId else {
            throw BundleError.malformed("the merges give start/end ids \(start ?? -1)/\(end ?? -1), "
                + "the manifest says \(spec.sotId)/\(spec.eotId)")
        }
        self.encoder = encoder
        self.ranks = ranks
        self.byteSymbols = symbols
        self.contextLength = spec.contextLength
        self.sotId = spec.sotId
        self.eotId = spec.eotId
        self.padId = spec.padId
        self.lowerCase = spec.lowerCase
    }

    /// GPT-2's reversible byte -> printable character table, in the order CLIP's vocabulary lists it:
    /// the printable bytes first (as themselves), then the others mapped to U+0100 onwards.
    static func bytesToUnicodeOrder() -> [(byte: UInt8, symbol: Unicode.Scalar)] {
        let printable = Array(33 ... 126) + Array(161 ... 172) + Array(174 ... 255)
        var table = printable.map { (byte: UInt8($0), symbol: Unicode.Scalar(UInt8($0))) }
        var extra: UInt32 = 0
        for b in 0 ... 255 where !printable.contains(b) {
            table.append((byte: UInt8(b), symbol: Unicode.Scalar(256 + extra)!))
            extra += 1
        }
        return table
    }

    /// BPE ids of one text, without start/end tokens or truncation.
    public func encode(_ text: String) -> [Int] {
        let cleaned = TextCleaning.clean(text, lowerCase: lowerCase)
        var ids: [Int] = []
        // Written out in a text, the two markers are the special tokens (as in open_clip's regex).
        var rest = Substring(cleaned)
        while !rest.isEmpty {
            let start = rest.range(of: Self.startMarker)
            let end = rest.range(of: Self.endMarker)
            let marker = [start, end].compactMap { $0 }.min { $0.lowerBound < $1.lowerBound }
            guard let hit = marker else {
                ids += encodePlain(String(rest))
                break
            }
            ids += encodePlain(String(rest[..<hit.lowerBound]))
            ids.append(rest[hit] == Self.startMarker ? sotId : eotId)
            rest = rest[hit.upperBound...]
        }
        return ids
    }

    /// (context_length) ids: start, BPE ids cut to fit, end, then padding.
    public func tokenize(_ text: String) -> [Int] {
        var row = [sotId]
        row += encode(text).prefix(contextLength - 2)
        row.append(eotId)
        row += [Int](repeating: padId, count: contextLength - row.count)
        return row
    }

    private func encodePlain(_ text: String) -> [Int] {
        let ns = text as NSString
        var ids: [Int] = []
        for match in pattern.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let piece = ns.substring(with: match.range)
            let mapped = piece.utf8.map { byteSymbols[Int($0)] }.joined()
            ids += bpe(mapped)
        }
        return ids
    }

    private func bpe(_ token: String) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        if let hit = cache[token] { return hit }
        var word = token.unicodeScalars.map { String($0) }
        word[word.count - 1] += "</w>"
        while word.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0 ..< word.count - 1 {
                if let rank = ranks[word[i] + " " + word[i + 1]], rank < (best?.rank ?? Int.max) {
                    best = (rank, i)
                }
            }
            guard let merge = best else { break }
            let first = word[merge.index], second = word[merge.index + 1]
            var merged: [String] = []
            var i = 0
            while i < word.count {  // every occurrence of the pair, left to right, as open_clip does
                if i < word.count - 1 && word[i] == first && word[i + 1] == second {
                    merged.append(first + second)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        let ids = word.map { encoder[$0] ?? 0 }
        cache[token] = ids
        return ids
    }
}

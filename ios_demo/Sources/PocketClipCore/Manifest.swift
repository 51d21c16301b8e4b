// The bundle's manifest.json (docs/contracts.md): artifacts, preprocessing, text spec, search settings,
// PQ codebooks, and every file's sha256, which `verify` checks before a file is used.
import Foundation

public enum BundleError: Error, CustomStringConvertible {
    case missing(String)
    case malformed(String)
    case hashMismatch(file: String, expected: String, actual: String)
    case noArtifact(String)

    public var description: String {
        switch self {
        case .missing(let path): return "\(path) is missing from the bundle"
        case .malformed(let why): return why
        case .hashMismatch(let file, let expected, let actual):
            return "\(file): sha256 \(actual.prefix(16))… does not match the manifest's \(expected.prefix(16))…; "
                + "the file was changed after export"
        case .noArtifact(let why): return why
        }
    }
}

/// A tensor dimension: a number, or a name such as "batch" for a dynamic one.
public enum Dimension: Decodable, Equatable {
    case fixed(Int)
    case named(String)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let n = try? container.decode(Int.self) {
            self = .fixed(n)
        } else {
            self = .named(try container.decode(String.self))
        }
    }
}

public struct TensorSpec: Decodable, Equatable {
    public let name: String
    public let shape: [Dimension]?
    public let dtype: String?
    public let shapeRange: [[Int]]?  // CoreML's flexible dimensions: [lower, upper] per axis

    enum CodingKeys: String, CodingKey {
        case name, shape, dtype
        case shapeRange = "shape_range"
    }
}

public struct Artifact: Decodable {
    public let name: String
    public let tower: String  // "image" | "text"
    public let format: String  // "pte" | "mlpackage" | "onnx"
    public let precision: String  // "fp32" | "fp16" | "int8" | "palettized-N"
    public let file: String
    public let sha256: String
    public let bytes: Int
    public let inputs: [TensorSpec]
    public let outputs: [TensorSpec]
    public let tolerance: [String: Double]?
    public let validatedOn: String?

    enum CodingKeys: String, CodingKey {
        case name, tower, format, precision, file, sha256, bytes, inputs, outputs, tolerance
        case validatedOn = "validated_on"
    }
}

public struct PreprocessSpec: Decodable {
    public let size: Int
    public let resize: String
    public let crop: String
    public let resample: String
    public let mean: [Float]
    public let std: [Float]
    public let channelOrder: String
    public let layout: String
    public let exifTranspose: Bool
    public let background: [Int]

    enum CodingKeys: String, CodingKey {
        case size, resize, crop, resample, mean, std, layout, background
        case channelOrder = "channel_order"
        case exifTranspose = "exif_transpose"
    }
}

public struct TextSpec: Decodable {
    public let tokenizer: String
    public let files: [String: String]
    public let mergesUsed: Int
    public let contextLength: Int
    public let lowerCase: Bool
    public let sotId: Int
    public let eotId: Int
    public let padId: Int

    enum CodingKeys: String, CodingKey {
        case tokenizer, files
        case mergesUsed = "merges_used"
        case contextLength = "context_length"
        case lowerCase = "lower_case"
        case sotId = "sot_id"
        case eotId = "eot_id"
        case padId = "pad_id"
    }
}

public struct PQSpec: Decodable {
    public let file: String
    public let subspaces: Int
    public let codewords: Int
    public let subDim: Int
    public let method: String
    public let sha256: String

    enum CodingKeys: String, CodingKey {
        case file, subspaces, codewords, method, sha256
        case subDim = "sub_dim"
    }
}

/// The manifest's `search` section: what every platform reads instead of hard-coding it. Below
/// `exactBelowPhotos` photos search is exact; from there on, when the store has PQ codes, PQ proposes
/// `rerankCandidates` candidates which are re-ranked exactly (runtime/search/pq_index.py). `defaultK`: hits by default.
public struct SearchSettings: Equatable {
    /// The section's keys, in the manifest's order.
    public static let keys = ["exact_below_photos", "rerank_candidates", "default_k"]

    public let exactBelowPhotos: Int
    public let rerankCandidates: Int
    public let defaultK: Int

    public init(exactBelowPhotos: Int, rerankCandidates: Int, defaultK: Int) {
        self.exactBelowPhotos = exactBelowPhotos
        self.rerankCandidates = rerankCandidates
        self.defaultK = defaultK
    }

    /// True when a library of `photos` photos is searched with PQ codes + exact re-rank, false when exactly.
    public func usesPQ(photos: Int, hasCodes: Bool) -> Bool { hasCodes && photos >= exactBelowPhotos }

    /// The section as manifest.json has it; refuses a missing section and any value that is not a positive
    /// integer literal (a string, a fraction, 1e3, true, null), as runtime/bundle/manifest.py does.
    static func parse(_ section: JSONValue?, path: String) throws -> SearchSettings {
        guard case .object(let members)? = section else {
            throw BundleError.malformed("\(path) has no 'search' section (an object with \(keys.joined(separator: ", ")))")
        }
        let values = try keys.map { key -> Int in
            guard let value = Manifest.integer(members[key]), value >= 1 else {
                let found = members[key].map { PythonJSON.dumpsSorted($0) } ?? "missing"
                throw BundleError.malformed("\(path): search.\(key) is \(found); it must be a positive integer")
            }
            return value
        }
        return SearchSettings(exactBelowPhotos: values[0], rerankCandidates: values[1], defaultK: values[2])
    }
}

public struct ModelInfo: Decodable {
    public let name: String
    public let fingerprint: String
    public let embedDim: Int

    enum CodingKeys: String, CodingKey {
        case name, fingerprint
        case embedDim = "embed_dim"
    }
}

public struct FileRecord: Decodable {
    public let sha256: String
    public let bytes: Int
}

public struct Manifest: Decodable {
    /// 2: the `search` section (runtime/bundle/manifest.py SCHEMA_VERSION).
    public static let readableSchemaVersion = 2
    /// The one tokenizer this core implements (ClipTokenizer); a bundle that needs another is refused at load.
    public static let tokenizer = "clip-bpe"

    public let schemaVersion: Int
    public let model: ModelInfo
    public let preprocess: PreprocessSpec
    public let text: TextSpec
    public let artifacts: [Artifact]
    public let pq: PQSpec?
    public let files: [String: FileRecord]
    /// The `search` section (required from schema_version 2), checked by `load`.
    public private(set) var search = SearchSettings(exactBelowPhotos: 1, rerankCandidates: 1, defaultK: 1)
    /// sha256 of the `preprocess` record serialised as Python's json.dumps(sort_keys=True): the store's
    /// preprocess_sha256 (runtime/bundle/manifest.py), so a phone's store and a Python store agree.
    public private(set) var preprocessSha256 = ""
    /// The bundle folder this manifest was read from.
    public private(set) var root = URL(fileURLWithPath: "/")

    enum CodingKeys: String, CodingKey {
        case model, preprocess, text, artifacts, pq, files
        case schemaVersion = "schema_version"
    }

    /// An integer JSON number written as one ("2", not "2.0", "2e0", "\"2\"" or true), as Python's json reads an int.
    static func integer(_ value: JSONValue?) -> Int? {
        guard case .number(let literal)? = value else { return nil }
        let digits = literal.hasPrefix("-") ? literal.dropFirst() : Substring(literal)
        guard !digits.isEmpty, digits.allSatisfy({ ("0" ... "9").contains($0) }) else { return nil }
        return Int(literal)
    }

    /// Reads ROOT/manifest.json; refuses a schema newer than this code, one older than the `search` section,
    /// a missing or malformed `search` section, and a tokenizer other than `tokenizer`.
    public static func load(bundle root: URL) throws -> Manifest {
        let url = root.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url) else {
            throw BundleError.missing("\(url.path) (not a bundle: no manifest.json)")
        }
        // The version first: a newer manifest may not decode as this one, and should say why it is refused.
        let document: JSONValue
        do {
            document = try PythonJSON.parse(data)
        } catch {
            throw BundleError.malformed("\(url.path) is not valid JSON: \(error)")
        }
        guard case .object(let top) = document else {
            throw BundleError.malformed("\(url.path) is not a manifest (not a JSON object)")
        }
        guard let version = integer(top["schema_version"]), version <= readableSchemaVersion else {
            let found = top["schema_version"].map { PythonJSON.dumpsSorted($0) } ?? "missing"
            throw BundleError.malformed("\(url.path): schema_version \(found); this app reads up to \(readableSchemaVersion)")
        }
        guard version == readableSchemaVersion else {
            throw BundleError.malformed("\(url.path): schema_version \(version) predates the 'search' section; "
                + "export the bundle again with `pocketclip export`")
        }
        let search = try SearchSettings.parse(top["search"], path: url.path)
        try checkTokenizer(root: root, text: top["text"])
        guard let spec = top["preprocess"] else {
            throw BundleError.malformed("\(url.path) has no 'preprocess' section")
        }
        var manifest: Manifest
        do {
            manifest = try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            throw BundleError.malformed("\(url.path) is not a readable manifest: \(error)")
        }
        manifest.search = search
        manifest.preprocessSha256 = BundleHash.sha256(of: Data(PythonJSON.dumpsSorted(spec).utf8))
        manifest.root = root
        return manifest
    }

    /// Refuses, before its `files` are read, a text section whose tokenizer is not `tokenizer` or is not named.
    static func checkTokenizer(root: URL, text: JSONValue?) throws {
        var named: JSONValue?
        if case .object(let members)? = text { named = members["tokenizer"] }
        let needs: String
        if case .string(let name)? = named {
            if name == tokenizer { return }
            needs = "needs the \(PythonJSON.quote(name)) tokenizer"
        } else {
            let found = named.map { PythonJSON.dumpsSorted($0) } ?? "missing"
            needs = "names no tokenizer (text.tokenizer is \(found))"
        }
        throw BundleError.malformed("bundle \(root.path): \(needs); this app implements \(tokenizer) only "
            + "(use a bundle exported by pocketclip export)")
    }

    public func artifact(tower: String, format: String, precision: String) throws -> Artifact {
        if let hit = artifacts.first(where: { $0.tower == tower && $0.format == format && $0.precision == precision }) {
            return hit
        }
        let have = artifacts.filter { $0.tower == tower }.map { "\($0.format)/\($0.precision)" }.sorted()
        throw BundleError.noArtifact("no \(tower) artifact in \(format)/\(precision); the bundle has \(have)")
    }

    /// The URL of a bundle file after checking it against the manifest's sha256 (folders as runtime/bundle/manifest.py).
    @discardableResult
    public func verify(_ relative: String) throws -> URL {
        guard let record = files[relative] else {
            throw BundleError.malformed("\(relative) is not listed in \(root.appendingPathComponent("manifest.json").path)")
        }
        let url = root.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else { throw BundleError.missing(url.path) }
        let actual = try BundleHash.sha256(of: url)
        guard actual == record.sha256 else {
            throw BundleError.hashMismatch(file: url.path, expected: record.sha256, actual: actual)
        }
        return url
    }

    public func verifyAll() throws {
        for relative in files.keys.sorted() { try verify(relative) }
    }
}

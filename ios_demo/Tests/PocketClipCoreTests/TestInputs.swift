// Where the tests' inputs are: environment variables set by the developer or tests/apps drivers, e.g.
// POCKETCLIP_BUNDLE=/path/to/bundle swift test
import Foundation
import XCTest
@testable import PocketClipCore

struct MissingInput: Error, LocalizedError, CustomStringConvertible {
    let variable: String
    let what: String
    var description: String { "set \(variable) to \(what), e.g. \(variable)=/path swift test" }
    var errorDescription: String? { description }
}

/// golden/golden.json: the golden photo files and texts, and the gallery captions.
struct GoldenIndex: Decodable {
    let images: [String]
    let texts: [String]
    let galleryTexts: [String]?

    enum CodingKeys: String, CodingKey {
        case images, texts
        case galleryTexts = "gallery_texts"
    }
}

enum TestInputs {
    static func setting(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func required(_ name: String, _ what: String) throws -> URL {
        guard let value = setting(name) else { throw MissingInput(variable: name, what: what) }
        return URL(fileURLWithPath: value)
    }

    /// The bundle under test (POCKETCLIP_BUNDLE).
    static func bundle() throws -> URL { try required("POCKETCLIP_BUNDLE", "an exported bundle folder") }
    /// The same model exported with 4-bit codebooks (32 x 16, packed nibbles) and their golden codes.
    static func pq4Manifest() throws -> Manifest {
        try Manifest.load(bundle: try required("POCKETCLIP_PQ4_BUNDLE", "a bundle exported with 4-bit codebooks"))
    }
    /// A store runtime/store/store.py wrote, holding the golden gallery's image embeddings in photo id order.
    static func pythonStore() throws -> URL { try required("POCKETCLIP_PY_STORE", "a store written by runtime.store") }
    static func outStore() throws -> URL { try required("POCKETCLIP_OUT_STORE", "where the Swift store goes") }
    static func outReport() throws -> URL { try required("POCKETCLIP_OUT_REPORT", "where the device report goes") }
    /// Where ManifestTest writes the manifest values it parsed (JSON), to compare with manifest.json.
    static func outManifest() throws -> URL {
        try required("POCKETCLIP_OUT_MANIFEST", "where the parsed manifest values go")
    }

    static func manifest() throws -> Manifest { try Manifest.load(bundle: try bundle()) }

    /// The indexing scenarios (runtime/indexing/scenarios), run by ConformanceTest.
    static func scenarios() throws -> URL { try required("POCKETCLIP_SCENARIOS", "the conformance scenario folder") }

    /// The offline places (runtime/facts/places.tsv.gz, POCKETCLIP_PLACES), read once.
    static func places() throws -> Places {
        if let loaded = loadedPlaces { return loaded }
        let file = try required("POCKETCLIP_PLACES", "runtime/facts/places.tsv.gz")
        let loaded = try Places(gzipped: Data(contentsOf: file))
        loadedPlaces = loaded
        return loaded
    }
    private static var loadedPlaces: Places?

    /// golden/NAME, checked against the manifest's sha256 first.
    static func golden(_ name: String, _ manifest: Manifest) throws -> NpyArray {
        try NpyArray.read(try manifest.verify("golden/\(name)"))
    }

    /// golden/NAME if the bundle has it (the PQ additions are newer than some bundles).
    static func optionalGolden(_ name: String, _ manifest: Manifest) throws -> NpyArray? {
        guard manifest.files["golden/\(name)"] != nil else { return nil }
        return try golden(name, manifest)
    }

    static func goldenIndex(_ manifest: Manifest) throws -> GoldenIndex {
        try JSONDecoder().decode(GoldenIndex.self, from: Data(contentsOf: try manifest.verify("golden/golden.json")))
    }

    /// A fresh empty folder under the temporary directory.
    static func scratch(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pocketclip-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

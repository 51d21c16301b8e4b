import Foundation
import XCTest
@testable import PocketClipCore

final class ManifestTest: XCTestCase {
    func testParsesArtifactsAndPreprocessing() throws {
        let manifest = try TestInputs.manifest()
        XCTAssertEqual(manifest.schemaVersion, 2)
        XCTAssertEqual(manifest.model.fingerprint.count, 64)
        XCTAssertFalse(manifest.artifacts.isEmpty)
        for artifact in manifest.artifacts {
            XCTAssertTrue(["image", "text"].contains(artifact.tower), artifact.file)
            XCTAssertTrue(["pte", "mlpackage", "onnx"].contains(artifact.format), artifact.file)
            XCTAssertEqual(manifest.files[artifact.file]?.sha256, artifact.sha256, "\(artifact.file) in files")
            XCTAssertEqual(artifact.inputs.first?.name, artifact.tower == "image" ? "pixels" : "ids")
            XCTAssertEqual(artifact.outputs.first?.name, "\(artifact.tower)_embeds")
            if artifact.format == "mlpackage" && artifact.tower == "image" {  // batch 1...64
                XCTAssertEqual(artifact.inputs.first?.shapeRange?.first, [1, 64])
            }
            if artifact.format == "mlpackage" && artifact.tower == "text" {
                XCTAssertEqual(artifact.inputs.first?.dtype, "int32")
            }
        }
        let spec = manifest.preprocess
        XCTAssertGreaterThan(spec.size, 0)
        XCTAssertEqual(spec.resize, "shortest_side")
        XCTAssertEqual(spec.crop, "center")
        XCTAssertEqual(spec.resample, "bicubic")
        XCTAssertEqual(spec.mean.count, 3)
        XCTAssertEqual(spec.std.count, 3)
        XCTAssertEqual(spec.channelOrder, "RGB")
        XCTAssertEqual(spec.layout, "NCHW")
        XCTAssertTrue(spec.exifTranspose)
        XCTAssertEqual(spec.background.count, 3)
        XCTAssertEqual(manifest.text.contextLength, 77)
        XCTAssertEqual(manifest.text.sotId, 49406)
        XCTAssertEqual(manifest.text.eotId, 49407)
        XCTAssertEqual(manifest.text.padId, 0)
        XCTAssertNotNil(manifest.text.files["merges"])
        XCTAssertEqual(manifest.preprocessSha256.count, 64)
        if let pq = manifest.pq {
            XCTAssertEqual(pq.subspaces * pq.subDim, manifest.model.embedDim)
            XCTAssertEqual(pq.codewords, 256)
            XCTAssertEqual(manifest.files[pq.file]?.sha256, pq.sha256)
        }
        // The preprocessing identity must be Python's (runtime/bundle/manifest.py preprocess_sha256).
        if TestInputs.setting("POCKETCLIP_PY_STORE") != nil {
            let python = try PhotoStore(path: try TestInputs.pythonStore().path)
            XCTAssertEqual(try python.meta()["preprocess_sha256"], manifest.preprocessSha256)
        }
        try manifest.verifyAll()
    }

    func testHashesFoldersAsTheRuntime() throws {
        // runtime/bundle/manifest.py sha256_path of this folder; "a/b" sorts before "a.txt" (Path order, not string order).
        let folder = try TestInputs.scratch("hash").appendingPathComponent("m.mlpackage")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("a"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("Data/weights"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: folder.appendingPathComponent("a.txt"))
        try Data("y".utf8).write(to: folder.appendingPathComponent("a/b"))
        try Data((0 ... 255).map { UInt8($0) }).write(to: folder.appendingPathComponent("Data/weights/w.bin"))
        XCTAssertEqual(try BundleHash.filesUnder(folder), ["Data/weights/w.bin", "a/b", "a.txt"])
        XCTAssertEqual(try BundleHash.sha256(of: folder), "6427a8175fddfe6ccf39a8a326d6df4391a27ffd894d94e8ab73f0f314784c0d")
    }

    func testReadsTheSearchSettings() throws {
        // Golden: the parsed settings are the values in the bundle's manifest.json (read here with Foundation's parser).
        let manifest = try TestInputs.manifest()
        let data = try Data(contentsOf: manifest.root.appendingPathComponent("manifest.json"))
        let raw = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let section = try XCTUnwrap(raw["search"] as? [String: Any], "manifest.json has no search section")
        let search = manifest.search
        XCTAssertEqual(manifest.schemaVersion, Manifest.readableSchemaVersion)
        XCTAssertEqual(raw["schema_version"] as? Int, manifest.schemaVersion)
        XCTAssertEqual(section["exact_below_photos"] as? Int, search.exactBelowPhotos)
        XCTAssertEqual(section["rerank_candidates"] as? Int, search.rerankCandidates)
        XCTAssertEqual(section["default_k"] as? Int, search.defaultK)
        // The switch point as runtime/search/pq_index.py: exact below it, PQ + exact re-rank from it on when there are codes.
        XCTAssertFalse(search.usesPQ(photos: search.exactBelowPhotos - 1, hasCodes: true))
        XCTAssertTrue(search.usesPQ(photos: search.exactBelowPhotos, hasCodes: true))
        XCTAssertFalse(search.usesPQ(photos: search.exactBelowPhotos, hasCodes: false))
        // What Swift read, in the form the Kotlin test writes it for tests/apps to compare with manifest.json.
        let parsed: [String: Any] = [
            "schema_version": manifest.schemaVersion,
            "search": ["exact_below_photos": search.exactBelowPhotos, "rerank_candidates": search.rerankCandidates,
                       "default_k": search.defaultK],
        ]
        let out = try TestInputs.outManifest()
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: parsed, options: [.prettyPrinted, .sortedKeys]).write(to: out)
    }

    func testRefusesABadSearchSection() throws {
        let manifest = try TestInputs.manifest()
        let data = try Data(contentsOf: manifest.root.appendingPathComponent("manifest.json"))
        guard case .object(let original) = try PythonJSON.parse(data) else {
            return XCTFail("manifest.json is not a JSON object")
        }
        let copy = try TestInputs.scratch("search")
        defer { try? FileManager.default.removeItem(at: copy) }
        typealias Edit = (inout [String: JSONValue]) -> Void
        func load(_ edit: Edit) throws -> Manifest {
            var top = original
            edit(&top)
            try Data(PythonJSON.dumpsSorted(.object(top)).utf8).write(to: copy.appendingPathComponent("manifest.json"))
            return try Manifest.load(bundle: copy)
        }
        func refused(_ what: String, _ words: [String], line: UInt = #line, _ edit: Edit) {
            XCTAssertThrowsError(try load(edit), what, line: line) { error in
                for word in words { XCTAssertTrue("\(error)".contains(word), "\(what): \(error)", line: line) }
            }
        }
        func setSearch(_ key: String, _ value: JSONValue?) -> Edit {
            return { top in
                guard case .object(var section)? = top["search"] else { return }
                section[key] = value
                top["search"] = .object(section)
            }
        }
        XCTAssertEqual(try load { _ in }.search, manifest.search)  // an intact copy is accepted
        // Keys a newer exporter may add are ignored, as the other sections'.
        XCTAssertEqual(try load(setSearch("future_setting", .number("7"))).search, manifest.search)

        refused("no search section", ["'search'", "exact_below_photos"]) { $0["search"] = nil }
        refused("search is not an object", ["'search'"]) { $0["search"] = .string("fast") }
        let bad: [(String, JSONValue?)] = [
            ("missing", nil), ("a string", .string("10")), ("a fraction", .number("10.5")),
            ("a float literal", .number("10.0")), ("an exponent", .number("1e3")), ("zero", .number("0")),
            ("negative", .number("-5")), ("a boolean", .bool(true)), ("null", .null),
        ]
        for key in SearchSettings.keys {
            for (what, value) in bad {
                refused("\(key) \(what)", ["search.\(key)", "positive integer"], setSearch(key, value))
            }
        }
        refused("a newer schema", ["schema_version", "reads up to 2"]) { $0["schema_version"] = .number("3") }
        refused("the schema before the search section", ["predates", "'search'"]) { $0["schema_version"] = .number("1") }
        refused("a schema_version string", ["schema_version"]) { $0["schema_version"] = .string("2") }
    }

    func testRefusesATokenizerItDoesNotImplement() throws {
        let manifest = try TestInputs.manifest()
        let data = try Data(contentsOf: manifest.root.appendingPathComponent("manifest.json"))
        guard case .object(let original) = try PythonJSON.parse(data) else {
            return XCTFail("manifest.json is not a JSON object")
        }
        let copy = try TestInputs.scratch("tokenizer")
        defer { try? FileManager.default.removeItem(at: copy) }
        typealias Edit = (inout [String: JSONValue]) -> Void
        func load(_ edit: Edit) throws -> Manifest {
            var top = original
            edit(&top)
            try Data(PythonJSON.dumpsSorted(.object(top)).utf8).write(to: copy.appendingPathComponent("manifest.json"))
            return try Manifest.load(bundle: copy)
        }
        // A bundle pulled from Hugging Face: tokenizer.json in place of CLIP's merges file, which it does not have.
        let hub: Edit = { top in
            guard case .object(var files)? = top["files"], let merges = manifest.text.files["merges"] else { return }
            top["text"] = .object([
                "tokenizer": .string("hf-tokenizers"),
                "files": .object(["tokenizer": .string("tokenizer/tokenizer.json")]),
                "context_length": .number("64"), "pad_id": .number("1"),
            ])
            files[merges] = nil
            files["tokenizer/tokenizer.json"] = .object(["sha256": .string(String(repeating: "0", count: 64)),
                                                         "bytes": .number("2")])
            top["files"] = .object(files)
        }
        func setTokenizer(_ value: JSONValue?) -> Edit {
            return { top in
                hub(&top)
                guard case .object(var text)? = top["text"] else { return }
                text["tokenizer"] = value
                top["text"] = .object(text)
            }
        }
        func refused(_ needs: String, line: UInt = #line, _ edit: Edit) {
            XCTAssertThrowsError(try load(edit), needs, line: line) { error in
                XCTAssertEqual("\(error)", "bundle \(copy.path): \(needs); this app implements clip-bpe only "
                    + "(use a bundle exported by pocketclip export)", line: line)
            }
        }
        XCTAssertEqual(try load { _ in }.text.tokenizer, Manifest.tokenizer)  // the exported clip-bpe one is accepted

        refused("needs the \"hf-tokenizers\" tokenizer", hub)
        // An unnamed tokenizer is not taken for clip-bpe: every exported manifest names it.
        refused("names no tokenizer (text.tokenizer is missing)", setTokenizer(nil))
        refused("names no tokenizer (text.tokenizer is null)", setTokenizer(.null))
    }

    func testRefusesATamperedArtifact() throws {
        let manifest = try TestInputs.manifest()
        let artifact = try XCTUnwrap(manifest.artifacts.min { $0.bytes < $1.bytes })
        let copy = try TestInputs.scratch("tampered")
        defer { try? FileManager.default.removeItem(at: copy) }
        try FileManager.default.copyItem(at: manifest.root.appendingPathComponent("manifest.json"),
                                         to: copy.appendingPathComponent("manifest.json"))
        let target = copy.appendingPathComponent(artifact.file)
        try FileManager.default.copyItem(at: manifest.root.appendingPathComponent(artifact.file), to: target)
        let copied = try Manifest.load(bundle: copy)
        XCTAssertNoThrow(try copied.verify(artifact.file))

        // Flip every bit of one byte in the middle of the file (for a .mlpackage, of its first file).
        var victim = target
        if artifact.format == "mlpackage" {
            victim = target.appendingPathComponent(try XCTUnwrap(BundleHash.filesUnder(target).first))
        }
        var bytes = try Data(contentsOf: victim)
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: victim)

        XCTAssertThrowsError(try copied.verify(artifact.file)) { error in
            guard case BundleError.hashMismatch(let file, _, _) = error else {
                return XCTFail("expected a hash mismatch, got \(error)")
            }
            XCTAssertTrue(file.hasSuffix(artifact.file), "the error names the file: \(file)")
            XCTAssertTrue("\(error)".contains(artifact.file), "the message names the file: \(error)")
        }
    }
}

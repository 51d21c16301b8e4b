// The Swift core's conformance runner (docs/conformance.md): the scenario files the reference runs
// (runtime/indexing/conformance.py), through this core's LibraryIndexer on a virtual gallery, as the Kotlin
// core's runner does. The encoder replays the reference's vector of each content (models.json) and counts the
// calls; decoding is ImageIO's, bounded from the header (ImageDecoding.bounded). Run on a Mac with
// POCKETCLIP_SCENARIOS=runtime/indexing/scenarios swift test --filter ConformanceTest.
import Foundation
import XCTest
@testable import PocketClipCore

struct ScenarioError: Error, CustomStringConvertible { let description: String }

/// The simulated death of the indexing process: not a PhotoFailure, so nothing in the core catches it.
struct Killed: Error {}

final class ConformanceRunner {
    static let start = "2026-01-01T00:00:00+00:00"
    static let meta = ["schema_version", "model_fingerprint", "dim", "preprocess_sha256", "precision",
                       "pq_codebooks_sha256", "root", "bundle", "backend"]
    static let report = ["embedded", "unchanged", "moved", "touched", "restored", "errors", "deleted", "skipped_errors",
                         "withheld", "purged", "facts_filled"]
    static let events: Set<String> = ["add", "modify", "touch", "move", "delete", "unreadable", "readable", "cloud",
                                      "root_gone", "root_back", "partial_access", "full_access", "days", "crash_on",
                                      "forget_facts"]
    static let locationTolerance = 1e-9  // degrees: latitude and longitude are doubles of one formula everywhere

    struct Result { let scenario: String; let steps: Int; let passed: Bool; let difference: String? }

    struct Model {
        let fingerprint: String, dim: Int, preprocessSha256: String, precision: String, size: Int
        let vectors: [String: [Float]]
    }

    final class Photo {
        let content: String, data: Data
        var mtimeNs: Int64, readable = true, cloud = false
        init(content: String, data: Data, mtimeNs: Int64) { self.content = content; self.data = data; self.mtimeNs = mtimeNs }
    }

    /// A photo library in memory: this runner's PhotoSource.
    final class Gallery: PhotoSource {
        var photos: [String: Photo] = [:]
        var clock = PhotoStore.parse(ConformanceRunner.start)!
        var ticks: Int64 = 0
        var gone = false
        var crash = Set<String>()
        var forgetFacts = false  // the next run starts by emptying every row's facts (a store migrated from v1)
        var size = 64
        let root = "gallery"
        var partial = false
        let places: Places

        init(places: Places) { self.places = places }

        func now() -> String { PhotoStore.format(clock) }
        func nextMtime() -> Int64 { ticks += 1; return Int64(clock.timeIntervalSince1970) * 1_000_000_000 + ticks * 1_000_000 }

        func list() throws -> [PhotoStat] {
            gone ? [] : photos.keys.sorted().map { PhotoStat(path: $0, size: Int64(photos[$0]!.data.count), mtimeNs: photos[$0]!.mtimeNs) }
        }

        func rootProblem(_ photos: [PhotoStat]) -> String? {
            gone ? "does not exist (not mounted?)" : photos.isEmpty ? "holds no photo file" : nil
        }

        private func read(_ photo: PhotoStat) throws -> Photo {
            guard let found = photos[photo.path] else { throw PhotoFailure.unavailable("the file vanished") }
            if found.cloud { throw PhotoFailure.unavailable("only in the cloud") }
            if !found.readable { throw PhotoFailure.unavailable("permission denied") }
            return found
        }

        func contentHash(_ photo: PhotoStat) throws -> String { Blake2b.contentHash(try read(photo).data) }

        func decode(_ photo: PhotoStat) throws -> DecodedPhoto {
            let found = try read(photo)
            if crash.contains(found.content) { throw Killed() }
            let (_, width, height) = try ImageDecoding.bounded(data: found.data, size: size)
            return DecodedPhoto(pixels: [], width: width, height: height,  // the replayed vectors need no pixels
                                facts: factsOf(photo, found.data))
        }

        func facts(_ photo: PhotoStat) throws -> PhotoFacts { factsOf(photo, try read(photo).data) }

        private func factsOf(_ photo: PhotoStat, _ data: Data) -> PhotoFacts {
            PhotoFacts.read(data, mtimeNs: photo.mtimeNs, raw: PhotoFacts.isRaw(photo.path), places: places)
        }
    }

    final class Replay: PhotoEmbedder {
        let model: Model, killAfter: Int?
        var batches = 0
        var embedded: [String] = []
        init(model: Model, killAfter: Int?) { self.model = model; self.killAfter = killAfter }

        func embed(_ photos: [(path: String, hash: String)], _ decoded: [DecodedPhoto]) throws -> [[Float]] {
            if let killAfter, batches >= killAfter { throw Killed() }
            batches += 1
            embedded += photos.map(\.path)
            return try photos.map { photo in
                guard let vector = model.vectors[photo.hash] else {
                    throw ScenarioError(description: "models.json has no vector for the content of \(photo.path)")
                }
                return vector
            }
        }
    }

    let folder: URL
    let places: Places
    var contents: [String: Data] = [:]
    var models: [String: Model] = [:]
    var codebooks: [String: (Codebooks, String)] = [:]

    init(folder: URL, places: Places) throws {
        self.folder = folder
        self.places = places
        let indexURL = folder.appendingPathComponent("models.json")
        guard let data = try? Data(contentsOf: indexURL), case .object(let index) = try PythonJSON.parse(data),
              case .object(let contentFiles)? = index["contents"], case .object(let modelSpecs)? = index["models"],
              case .object(let books)? = index["codebooks"] else {
            throw ScenarioError(description: "\(indexURL.path): not a scenario folder's index")
        }
        for (name, file) in contentFiles {
            guard case .string(let file) = file else { continue }
            contents[name] = try Data(contentsOf: folder.appendingPathComponent("contents").appendingPathComponent(file))
        }
        for (name, spec) in modelSpecs {
            guard case .object(let o) = spec, case .string(let fingerprint)? = o["fingerprint"],
                  case .number(let dim)? = o["dim"], case .string(let sha)? = o["preprocess_sha256"],
                  case .string(let precision)? = o["precision"], case .object(let pre)? = o["preprocess"],
                  case .number(let size)? = pre["size"], case .object(let vectors)? = o["vectors"] else { continue }
            var replay: [String: [Float]] = [:]
            for (digest, vector) in vectors {
                if case .array(let values) = vector {
                    replay[digest] = values.compactMap { if case .number(let v) = $0 { return Float(v) } else { return nil } }
                }
            }
            models[name] = Model(fingerprint: fingerprint, dim: Int(dim) ?? 0, preprocessSha256: sha, precision: precision,
                                 size: Int(size) ?? 64, vectors: replay)
        }
        for (name, spec) in books {
            guard case .object(let o) = spec, case .string(let file)? = o["file"], case .string(let sha)? = o["sha256"] else { continue }
            let array = try NpyArray.read(folder.appendingPathComponent("codebooks").appendingPathComponent(file))
            codebooks[name] = (Codebooks(subspaces: array.shape[0], codewords: array.shape[1], subDim: array.shape[2],
                                         centroids: try array.floats()), sha)
        }
    }

    func files() throws -> [URL] {
        let found = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" && $0.lastPathComponent != "models.json" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        if found.isEmpty { throw ScenarioError(description: "\(folder.path): no scenario files") }
        return found
    }

    func runAll() throws -> [Result] { try files().map { try run($0) } }

    func run(_ file: URL) throws -> Result {
        let stem = file.deletingPathExtension().lastPathComponent
        guard case .object(let scenario)? = try? PythonJSON.parse(Data(contentsOf: file)),
              case .array(let steps)? = scenario["steps"] else {
            throw ScenarioError(description: "\(file.lastPathComponent): not a scenario")
        }
        var name = stem
        if case .string(let given)? = scenario["name"] { name = given }
        let gallery = Gallery(places: places)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pocketclip-conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        for (i, element) in steps.enumerated() {
            let number = i + 1
            let whereText = "\(file.lastPathComponent): step \(number)"
            guard case .object(let step) = element else { throw ScenarioError(description: "\(whereText): malformed") }
            if case .array(let events)? = step["events"] {
                for event in events {
                    guard case .object(let e) = event else { throw ScenarioError(description: "\(whereText): malformed") }
                    try apply(gallery, e, whereText)
                }
            }
            var run: [String: JSONValue] = ["model": .string("demo"), "codebooks": .null, "backend": .string("onnx"),
                                            "bundle": .string("bundle"), "reindex": .bool(false), "allow_empty": .bool(false),
                                            "retry_errors": .bool(false), "batch_size": .number("4"),
                                            "kill_after_batches": .null]
            if case .object(let given)? = step["run"] { run.merge(given) { _, new in new } }
            let got = try runStep(tmp.appendingPathComponent("store.db"), gallery, run, whereText)
            if case .object(let expected)? = step["expect"], let difference = firstDifference(expected, got) {
                var stepName = ""
                if case .string(let given)? = step["name"] { stepName = given }
                return Result(scenario: stem, steps: number, passed: false,
                              difference: "\(name): step \(number) (\(stepName)): \(difference)")
            }
        }
        return Result(scenario: stem, steps: steps.count, passed: true, difference: nil)
    }

    private func string(_ value: JSONValue?) -> String? { if case .string(let s)? = value { return s } else { return nil } }
    private func int(_ value: JSONValue?) -> Int? { if case .number(let n)? = value { return Int(n) } else { return nil } }
    private func bool(_ value: JSONValue?) -> Bool { if case .bool(let b)? = value { return b } else { return false } }

    private func apply(_ gallery: Gallery, _ event: [String: JSONValue], _ whereText: String) throws {
        let kinds = Set(event.keys).intersection(Self.events)
        guard kinds.count == 1, let kind = kinds.first else {
            throw ScenarioError(description: "\(whereText): an event needs exactly one of \(Self.events.sorted()), got \(event.keys.sorted())")
        }
        let target = string(event[kind])
        func photo() throws -> Photo {
            guard let target, let found = gallery.photos[target] else { throw ScenarioError(description: "\(whereText): malformed") }
            return found
        }
        switch kind {
        case "add", "modify":
            guard let content = string(event["content"]), let data = contents[content], let target else {
                throw ScenarioError(description: "\(whereText): unknown content '\(string(event["content"]) ?? "")'")
            }
            gallery.photos[target] = Photo(content: content, data: data, mtimeNs: gallery.nextMtime())
        case "touch": try photo().mtimeNs += bool(event["same_second"]) ? 1_000 : 2_000_000_000
        case "move":
            let moved = try photo()
            guard let to = string(event["to"]) else { throw ScenarioError(description: "\(whereText): malformed") }
            gallery.photos[target!] = nil
            gallery.photos[to] = moved
        case "delete": _ = try photo(); gallery.photos[target!] = nil
        case "unreadable", "readable": try photo().readable = kind == "readable"
        case "cloud": if case .bool(false)? = event["only"] { try photo().cloud = false } else { try photo().cloud = true }
        case "root_gone", "root_back": gallery.gone = kind == "root_gone"
        case "partial_access", "full_access": gallery.partial = kind == "partial_access"
        case "days": gallery.clock.addTimeInterval(Double(int(event[kind]) ?? 0) * 86_400)
        case "crash_on": if let target { gallery.crash.insert(target) }
        case "forget_facts": gallery.forgetFacts = true
        default: break
        }
    }

    private func runStep(_ db: URL, _ gallery: Gallery, _ run: [String: JSONValue], _ whereText: String) throws -> [String: JSONValue] {
        guard let modelName = string(run["model"]), let model = models[modelName] else {
            throw ScenarioError(description: "\(whereText): unknown model '\(string(run["model"]) ?? "")'")
        }
        let books = string(run["codebooks"]).flatMap { codebooks[$0] }
        gallery.size = model.size
        let binding = Binding(fingerprint: model.fingerprint, dim: model.dim, preprocessSha256: model.preprocessSha256,
                              precision: model.precision, books: books?.0, booksSha256: books?.1, root: gallery.root,
                              bundle: string(run["bundle"]) ?? "bundle", backend: string(run["backend"]) ?? "onnx")
        let replay = Replay(model: model, killAfter: int(run["kill_after_batches"]))
        var outcome = "ok"
        var report: SyncReport?
        let store = try PhotoStore(path: db.path)
        if gallery.forgetFacts {  // as a store of schema version 1 is after its migration: no row has facts (R22)
            try store.forgetFacts()
            gallery.forgetFacts = false
        }
        let generation = try store.generation()
        do {
            let retry = try bindStore(store, binding, reindex: bool(run["reindex"]))
            report = try LibraryIndexer(store: store, model: model.fingerprint, books: books?.0, clock: gallery.now)
                .run(gallery, replay, options: IndexOptions(batchSize: int(run["batch_size"]) ?? 4,
                                                             allowEmpty: bool(run["allow_empty"]),
                                                             retryErrors: bool(run["retry_errors"]) || retry))
        } catch is Killed {
            outcome = "killed"
        } catch StoreError.modelMismatch {
            outcome = "ModelMismatch"
        } catch is RootUnavailable {
            outcome = "RootUnavailable"
        }
        return try snapshot(store, outcome, report, replay.embedded, generation)
    }

    private func snapshot(_ store: PhotoStore, _ outcome: String, _ report: SyncReport?, _ embedded: [String],
                          _ before: Int64) throws -> [String: JSONValue] {
        let meta = try store.meta()
        let withVector = try store.embeddedIDs(model: meta[StoreSchema.MetaKey.modelFingerprint] ?? "")
        let coded = try store.codedIDs()
        var out: [String: JSONValue] = ["outcome": .string(outcome)]
        if let r = report {
            let values = [r.embedded, r.unchanged, r.moved, r.touched, r.restored, r.errors, r.deleted, r.skippedErrors,
                          r.withheld, r.purged, r.factsFilled]
            out["report"] = .object(Dictionary(uniqueKeysWithValues: zip(Self.report, values.map { JSONValue.number(String($0)) })))
        } else {
            out["report"] = .null
        }
        out["embedded"] = .array(embedded.sorted().map { JSONValue.string($0) })
        out["photos"] = .array(try store.photos().sorted { $0.path < $1.path }.map { row -> JSONValue in
            let kind = row.error.map { $0.hasPrefix(PhotoFailure.unavailablePrefix) ? "environment" : "content" }
            var facts: [String: JSONValue] = [:]
            for (column, value) in zip(PhotoFacts.columns, row.facts.values) {
                switch value {
                case .text(let text): facts[column] = .string(text)
                case .real(let number): facts[column] = .number("\(number)")
                default: facts[column] = .null
                }
            }
            return .object(["path": .string(row.path), "status": .string(row.status),
                            "hash": row.contentHash.map { JSONValue.string($0) } ?? .null,
                            "vector": .bool(withVector.contains(row.id ?? -1)), "code": .bool(coded.contains(row.id ?? -1)),
                            "error": kind.map { JSONValue.string($0) } ?? .null, "facts": .object(facts)])
        })
        out["meta"] = .object(meta.filter { Self.meta.contains($0.key) }.mapValues { JSONValue.string($0) })
        out["generation_changed"] = .bool(try store.generation() != before)
        return out
    }

    private func fact(_ photo: [String: JSONValue], _ column: String) -> JSONValue {
        if case .object(let facts)? = photo["facts"], let value = facts[column] { return value }
        return .null
    }

    /// Numbers (latitude, longitude) within locationTolerance; strings exactly; null only for null.
    private func sameFact(_ want: JSONValue, _ have: JSONValue) -> Bool {
        if case .number(let w) = want, case .number(let h) = have, let a = Double(w), let b = Double(h) {
            return abs(a - b) <= Self.locationTolerance
        }
        return want == have
    }

    /// The first thing that differs, in the order the reference's runner checks a step.
    private func firstDifference(_ expected: [String: JSONValue], _ got: [String: JSONValue]) -> String? {
        func show(_ value: JSONValue?) -> String { value.map { PythonJSON.dumpsSorted($0) } ?? "null" }
        func diff(_ what: String, _ want: JSONValue?, _ have: JSONValue?) -> String {
            "\(what): expected \(show(want)), got \(show(have))"
        }
        if let want = expected["outcome"], want != got["outcome"] { return diff("outcome", want, got["outcome"]) }
        if let want = expected["report"], want != got["report"] {
            if case .object(let w) = want, case .object(let h)? = got["report"],
               let key = Self.report.first(where: { w[$0] != h[$0] }) {
                return diff("report \(key)", w[key], h[key])
            }
            return diff("report", want, got["report"])
        }
        if let want = expected["embedded"], want != got["embedded"] { return diff("embedded", want, got["embedded"]) }
        if case .array(let want)? = expected["photos"], case .array(let have)? = got["photos"] {
            func byPath(_ rows: [JSONValue]) -> [String: [String: JSONValue]] {
                var out: [String: [String: JSONValue]] = [:]
                for row in rows { if case .object(let o) = row, case .string(let path)? = o["path"] { out[path] = o } }
                return out
            }
            let wanted = byPath(want), had = byPath(have)
            for path in Set(wanted.keys).union(had.keys).sorted() {
                guard let w = wanted[path] else { return diff("photo \(path)", nil, had[path].map { JSONValue.object($0) }) }
                guard let h = had[path] else { return diff("photo \(path)", .object(w), nil) }
                for column in ["status", "hash", "vector", "code", "error"] where (w[column] ?? .null) != (h[column] ?? .null) {
                    return diff("photo \(path) \(column)", w[column], h[column])
                }
                for column in PhotoFacts.columns {
                    let wanted = fact(w, column), had = fact(h, column)
                    if !sameFact(wanted, had) { return diff("photo \(path) \(column)", wanted, had) }
                }
            }
        }
        if case .object(let want)? = expected["meta"], case .object(let have)? = got["meta"] {
            for key in Set(want.keys).union(have.keys).sorted() where want[key] != have[key] {
                return diff("meta \(key)", want[key], have[key])
            }
        }
        if let want = expected["generation_changed"], want != got["generation_changed"] {
            return diff("generation_changed", want, got["generation_changed"])
        }
        return nil
    }
}

final class ConformanceTest: XCTestCase {
    func testEveryScenarioPasses() throws {
        let results = try ConformanceRunner(folder: try TestInputs.scenarios(), places: try TestInputs.places()).runAll()
        XCTAssertGreaterThanOrEqual(results.count, 30)
        let failed = results.filter { !$0.passed }
        XCTAssertTrue(failed.isEmpty, failed.map { "\($0.scenario): \($0.difference ?? "")" }.joined(separator: "\n"))
    }

    func testAnAlteredExpectationFailsNamingScenarioStepAndDifference() throws {
        let folder = try TestInputs.scenarios()
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("pocketclip-scenarios-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: folder, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        let file = copy.appendingPathComponent("09-restore-same-path.json")
        let text = try String(contentsOf: file, encoding: .utf8)
        guard let range = text.range(of: "\"restored\": 1") else { return XCTFail("the scenario has no restore") }
        try text.replacingCharacters(in: range, with: "\"restored\": 0").write(to: file, atomically: true, encoding: .utf8)
        let result = try ConformanceRunner(folder: copy, places: try TestInputs.places()).run(file)
        XCTAssertFalse(result.passed)
        XCTAssertEqual(result.difference, "restore-same-path: step 3 (restore): report restored: expected 0, got 1")
    }

    func testContentHashIsBlake2bOfTheBytes() {
        // Python: hashlib.blake2b(b"", digest_size=16) and of 1,000 bytes crossing the 128-byte blocks.
        XCTAssertEqual(Blake2b.contentHash(Data()), "cae66941d9efbd404e4d88758ea67670")
        XCTAssertEqual(Blake2b.contentHash(Data((0 ..< 1000).map { UInt8($0 % 251) })), "bca120dfd89cd95d82898473a5b01c90")
    }
}

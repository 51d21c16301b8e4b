// The device report of the CoreML artifacts: the bundle's golden inputs through each .mlpackage on this
// Mac or iPhone, written to POCKETCLIP_OUT_COREML_REPORT (default: the temporary folder) for
// `pocketclip parity BUNDLE --device-report FILE`.
#if canImport(CoreML)
import CoreML
import Foundation
import XCTest
import PocketClipCore
import PocketClipCoreML

final class CoreMLDeviceReportTest: XCTestCase {
    func testWritesTheCoreMLDeviceReport() async throws {
        guard let root = ProcessInfo.processInfo.environment["POCKETCLIP_BUNDLE"], !root.isEmpty else {
            throw XCTSkip("set POCKETCLIP_BUNDLE to an exported bundle folder with .mlpackage artifacts")
        }
        let manifest = try Manifest.load(bundle: URL(fileURLWithPath: root))
        let packages = manifest.artifacts.filter { $0.format == "mlpackage" }
        guard !packages.isEmpty else { throw XCTSkip("the bundle has no .mlpackage artifacts (export with --formats mlpackage)") }
        func golden(_ name: String) throws -> NpyArray { try NpyArray.read(try manifest.verify("golden/\(name)")) }

        let spec = manifest.preprocess
        let pixels = try golden("pixels.npy").floatRows()
        let squares = try golden("gallery_squares.npy")
        let perImage = spec.size * spec.size * 3
        let squareBytes = try squares.bytes()
        let galleryPixels = (0 ..< squares.shape[0]).map {
            Preprocess.normalise(Array(squareBytes[$0 * perImage ..< ($0 + 1) * perImage]), mean: spec.mean, std: spec.std)
        }
        let ids = try golden("ids.npy").intRows()
        let galleryIds = try golden("gallery_ids.npy").intRows()

        var results: [DeviceReport.ArtifactResult] = []
        for artifact in packages {
            let tower = try await CoreMLTower.load(manifest, tower: artifact.tower, precision: artifact.precision)
            var timings: [Double] = []
            let vectors: [[Float]]
            if artifact.tower == "image" {
                vectors = try pixels.map { row in try timed(&timings) { try tower.encodeImages([row], size: spec.size)[0] } }
            } else {
                vectors = try ids.map { row in try timed(&timings) { try tower.encodeTexts([row])[0] } }
            }
            let gallery: [[Float]]
            if artifact.tower == "image" {
                gallery = try tower.encodeImages(galleryPixels, size: spec.size)
            } else {
                gallery = try tower.encodeTexts(galleryIds)
            }
            results.append(DeviceReport.ArtifactResult(
                file: artifact.file, sha256: try BundleHash.sha256(of: manifest.root.appendingPathComponent(artifact.file)),
                tower: artifact.tower, vectors: vectors, galleryVectors: gallery, timingsMs: timings))
            for vector in vectors {
                let norm = vector.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
                XCTAssertEqual(norm, 1, accuracy: 1e-3, "\(artifact.file): embeddings are L2-normalised")
            }
        }
        let out = ProcessInfo.processInfo.environment["POCKETCLIP_OUT_COREML_REPORT"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("pocketclip-coreml-report.json")
        try DeviceReport(runtime: "CoreML, computeUnits all", modelFingerprint: manifest.model.fingerprint,
                         artifacts: results).write(to: out)
        print("CoreMLDeviceReportTest: wrote \(out.path); check it with: pocketclip parity \(root) --device-report \(out.path)")
    }

    private func timed<T>(_ timings: inout [Double], _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        timings.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        return result
    }
}
#endif

import Foundation
import XCTest
@testable import PocketClipCore

final class DeviceReportTest: XCTestCase {
    func testWritesTheSchema() throws {
        // A format test: the vectors are the golden references themselves ("golden echo"); the CoreML
        // test (PocketClipCoreMLTests) writes a phone's own outputs through the same code.
        let manifest = try TestInputs.manifest()
        let runs = try manifest.artifacts.map { artifact -> DeviceReport.ArtifactResult in
            let image = artifact.tower == "image"
            return DeviceReport.ArtifactResult(
                file: artifact.file, sha256: try BundleHash.sha256(of: try manifest.verify(artifact.file)), tower: artifact.tower,
                vectors: try TestInputs.golden(image ? "image_embeddings.npy" : "text_embeddings.npy", manifest).floatRows(),
                galleryVectors: try TestInputs.golden(image ? "gallery_image_embeddings.npy" : "gallery_text_embeddings.npy",
                                                      manifest).floatRows(),
                timingsMs: [0])
        }
        let out = try TestInputs.outReport()
        try DeviceReport(runtime: "swift golden echo", modelFingerprint: manifest.model.fingerprint, artifacts: runs)
            .write(to: out)

        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
        XCTAssertEqual(report["schema"] as? String, DeviceReport.schemaName)
        XCTAssertEqual(report["model_fingerprint"] as? String, manifest.model.fingerprint)
        XCTAssertFalse((report["device"] as? String ?? "").isEmpty)
        let artifacts = try XCTUnwrap(report["artifacts"] as? [[String: Any]])
        XCTAssertEqual(artifacts.count, manifest.artifacts.count)
        for (item, run) in zip(artifacts, runs) {
            XCTAssertEqual((item["sha256"] as? String)?.count, 64)
            XCTAssertEqual(item["sha256"] as? String, manifest.files[run.file]?.sha256)
            let vectors = try XCTUnwrap(item["vectors"] as? [[Double]])
            XCTAssertEqual(vectors.count, run.vectors.count)
            XCTAssertEqual(vectors[0].map { Float($0) }, run.vectors[0], "float32 values survive the JSON round trip exactly")
            XCTAssertNotNil(item["gallery_vectors"] as? [[Double]])
        }
        // Non-finite values are written as null, which the schema allows and parity fails.
        let odd = DeviceReport(device: "d", runtime: "r", modelFingerprint: manifest.model.fingerprint, artifacts: [
            DeviceReport.ArtifactResult(file: "f", sha256: String(repeating: "0", count: 64), tower: "text", vectors: [[.nan, 1]]),
        ])
        let encoded = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(odd)) as? [String: Any]
        let first = ((encoded?["artifacts"] as? [[String: Any]])?.first?["vectors"] as? [[Any]])?.first
        XCTAssertTrue(first?.first is NSNull)
    }
}

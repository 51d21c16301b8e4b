import Foundation
import XCTest
@testable import PocketClipCore

final class ManifestTest: XCTestCase {
    func testParsesArtifactsAndPreprocessing() throws {
        let manifest = try TestInputs.manifest()
        XCTAssertEqual(manifest.schemaVersion, 1)
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
        // The preprocessing identity must be Python's (runtime/bundle.py preprocess_sha256).
        if TestInputs.setting("POCKETCLIP_PY_STORE") != nil {
            let python = try PhotoStore(path: try TestInputs.pythonStore().path)
            XCTAssertEqual(try python.meta()["preprocess_sha256"], manifest.preprocessSha256)
        }
        try manifest.verifyAll()
    }

    func testHashesFoldersAsTheRuntime() throws {
        // runtime/bundle.py sha256_path of this folder; "a/b" sorts before "a.txt" (Path order, not string order).
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

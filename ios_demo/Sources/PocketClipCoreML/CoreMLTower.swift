// One tower of the bundle as a CoreML model: the .mlpackage is checked against its sha256, compiled
// once (MLModel.compileModel) and the compiled model cached by that sha256; inputs and outputs are
// named as the manifest says (image: float32 "pixels" (B, 3, S, S), B in 1...64; text: int32 "ids" (1, 77)).
#if canImport(CoreML)
import CoreML
import Foundation
import PocketClipCore

public final class CoreMLTower {
    public let artifact: Artifact
    public let model: MLModel
    public let inputName: String
    public let outputName: String
    /// Largest batch the image model takes (its flexible first dimension); 1 for the text model.
    public let maxBatch: Int

    /// Loads (compiling on first use) the `tower` artifact of `precision` from the bundle.
    public static func load(_ manifest: Manifest, tower: String, precision: String,
                            computeUnits: MLComputeUnits = .all, cache: URL? = nil) async throws -> CoreMLTower {
        let artifact = try manifest.artifact(tower: tower, format: "mlpackage", precision: precision)
        let package = try manifest.verify(artifact.file)
        let compiled = try await compiledModel(package, sha256: artifact.sha256, cache: cache ?? defaultCache())
        let configuration = MLModelConfiguration()
        configuration.computeUnits = computeUnits
        let model = try MLModel(contentsOf: compiled, configuration: configuration)
        return try CoreMLTower(artifact: artifact, model: model)
    }

    init(artifact: Artifact, model: MLModel) throws {
        guard let input = artifact.inputs.first?.name, let output = artifact.outputs.first?.name else {
            throw BundleError.malformed("\(artifact.file): the manifest names no input or output")
        }
        guard model.modelDescription.inputDescriptionsByName[input] != nil,
              model.modelDescription.outputDescriptionsByName[output] != nil else {
            throw BundleError.malformed("\(artifact.file): the model has no input \(input) or output \(output), "
                + "as the manifest says it has")
        }
        self.artifact = artifact
        self.model = model
        self.inputName = input
        self.outputName = output
        // CoreML writes an unbounded range as -1: batch 1 then, never a negative batch size.
        self.maxBatch = max(1, artifact.inputs.first?.shapeRange?.first?.last ?? 1)
    }

    static func defaultCache() throws -> URL {
        try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("compiled-models", isDirectory: true)
    }

    /// CACHE/<sha256>.mlmodelc, compiling the package only when it is not there yet.
    static func compiledModel(_ package: URL, sha256: String, cache: URL) async throws -> URL {
        let target = cache.appendingPathComponent("\(sha256).mlmodelc", isDirectory: true)
        if FileManager.default.fileExists(atPath: target.path) { return target }
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        let temporary = try await MLModel.compileModel(at: package)
        do {
            try FileManager.default.moveItem(at: temporary, to: target)
        } catch _ where FileManager.default.fileExists(atPath: target.path) {
            // another task compiled it meanwhile: use theirs
        }
        return target
    }

    /// Image embeddings of (N, 3, S, S) float32 pixels, run in batches of at most `maxBatch`.
    public func encodeImages(_ pixels: [[Float]], size: Int) throws -> [[Float]] {
        var out: [[Float]] = []
        var start = 0
        while start < pixels.count {
            let batch = Array(pixels[start ..< min(start + maxBatch, pixels.count)])
            let input = try MLMultiArray(shape: [NSNumber(value: batch.count), 3, NSNumber(value: size), NSNumber(value: size)],
                                         dataType: .float32)
            input.withUnsafeMutableBytes { raw, strides in
                for (b, image) in batch.enumerated() {
                    precondition(image.count == 3 * size * size, "an image input of \(image.count) values")
                    for c in 0 ..< 3 {
                        for y in 0 ..< size {
                            for x in 0 ..< size {
                                let at = b * strides[0] + c * strides[1] + y * strides[2] + x * strides[3]
                                raw.storeBytes(of: image[(c * size + y) * size + x], toByteOffset: at * 4, as: Float.self)
                            }
                        }
                    }
                }
            }
            out += try run(input, rows: batch.count)
            start += batch.count
        }
        return out
    }

    /// Text embeddings of (N, 77) token ids, one at a time (the CoreML text model has batch 1), as int32.
    public func encodeTexts(_ ids: [[Int]]) throws -> [[Float]] {
        try ids.map { row in
            let input = try MLMultiArray(shape: [1, NSNumber(value: row.count)], dataType: .int32)
            input.withUnsafeMutableBytes { raw, strides in
                for (i, id) in row.enumerated() {
                    raw.storeBytes(of: Int32(id), toByteOffset: i * strides[1] * 4, as: Int32.self)
                }
            }
            return try run(input, rows: 1)[0]
        }
    }

    private func run(_ input: MLMultiArray, rows: Int) throws -> [[Float]] {
        let provider = try MLDictionaryFeatureProvider(dictionary: [inputName: MLFeatureValue(multiArray: input)])
        let result = try model.prediction(from: provider)
        guard let output = result.featureValue(for: outputName)?.multiArrayValue else {
            throw BundleError.malformed("\(artifact.file) returned no \(outputName)")
        }
        return try Self.rows(output, expected: rows)
    }

    /// (rows, dim) float values of an output array, whatever its element type and strides.
    static func rows(_ array: MLMultiArray, expected: Int) throws -> [[Float]] {
        let shape = array.shape.map(\.intValue)
        guard shape.count == 2, shape[0] == expected else {
            throw BundleError.malformed("an output shaped \(shape), expected (\(expected), dim)")
        }
        let strides = array.strides.map(\.intValue)
        let type = array.dataType
        return try array.withUnsafeBytes { raw in
            try (0 ..< shape[0]).map { r in
                try (0 ..< shape[1]).map { d -> Float in
                    let at = r * strides[0] + d * strides[1]
                    switch type {
                    case .float32: return raw.load(fromByteOffset: at * 4, as: Float.self)
                    case .double: return Float(raw.load(fromByteOffset: at * 8, as: Double.self))
                    case .float16: return Float16Codec.float(fromHalfBits: raw.load(fromByteOffset: at * 2, as: UInt16.self))
                    default: throw BundleError.malformed("an output of MLMultiArray data type \(type.rawValue)")
                    }
                }
            }
        }
    }
}
#endif

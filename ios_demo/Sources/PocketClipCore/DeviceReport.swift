// The device report (runtime/schemas/device-report.schema.json): what a phone's artifacts produced for
// the golden inputs, checked on a computer by `pocketclip parity BUNDLE --device-report FILE`.
import Foundation

public struct DeviceReport: Encodable {
    public static let schemaName = "pocketclip-device-report/1"

    public struct ArtifactResult: Encodable {
        public var file: String
        public var sha256: String
        public var tower: String  // "image" | "text"
        public var vectors: [[Float]]
        public var galleryVectors: [[Float]]?
        public var timingsMs: [Double]?

        public init(file: String, sha256: String, tower: String, vectors: [[Float]], galleryVectors: [[Float]]? = nil,
                    timingsMs: [Double]? = nil) {
            self.file = file
            self.sha256 = sha256
            self.tower = tower
            self.vectors = vectors
            self.galleryVectors = galleryVectors
            self.timingsMs = timingsMs
        }

        enum CodingKeys: String, CodingKey {
            case file, sha256, tower, vectors
            case galleryVectors = "gallery_vectors"
            case timingsMs = "timings_ms"
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(file, forKey: .file)
            try container.encode(sha256, forKey: .sha256)
            try container.encode(tower, forKey: .tower)
            try container.encode(vectors.map(DeviceReport.jsonNumbers), forKey: .vectors)
            try container.encodeIfPresent(galleryVectors?.map(DeviceReport.jsonNumbers), forKey: .galleryVectors)
            try container.encodeIfPresent(timingsMs, forKey: .timingsMs)
        }
    }

    public var device: String
    public var runtime: String
    public var modelFingerprint: String
    public var artifacts: [ArtifactResult]

    public init(device: String = DeviceReport.deviceDescription(), runtime: String, modelFingerprint: String,
                artifacts: [ArtifactResult]) {
        self.device = device
        self.runtime = runtime
        self.modelFingerprint = modelFingerprint
        self.artifacts = artifacts
    }

    enum CodingKeys: String, CodingKey {
        case schema, device, runtime, artifacts
        case modelFingerprint = "model_fingerprint"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schemaName, forKey: .schema)
        try container.encode(device, forKey: .device)
        try container.encode(runtime, forKey: .runtime)
        try container.encode(modelFingerprint, forKey: .modelFingerprint)
        try container.encode(artifacts, forKey: .artifacts)
    }

    /// JSON has no NaN or infinity: the schema writes a non-finite value as null (and parity then fails it).
    static func jsonNumbers(_ vector: [Float]) -> [Double?] {
        vector.map { $0.isFinite ? Double($0) : nil }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(self).write(to: url, options: .atomic)
    }

    /// "iPhone15,2, iOS Version 18.2 (Build 22C152)": the hardware model (uname) and the OS version.
    public static func deviceDescription() -> String {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        #if os(iOS)
        let os = "iOS"
        #else
        let os = "macOS"
        #endif
        return "\(machine), \(os) \(ProcessInfo.processInfo.operatingSystemVersionString)"
    }
}

// sha256 of bundle files, and of .mlpackage folders, exactly as runtime/bundle/manifest.py sha256_path.
import CryptoKit
import Foundation

public enum BundleHash {
    /// Hex sha256 of a file, or of a folder as the sha256 of its sorted "relative/path\0file-sha256\n" lines.
    public static func sha256(of url: URL) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw BundleError.missing(url.path)
        }
        if !isDirectory.boolValue { return try fileSha256(url) }
        var hasher = SHA256()
        for relative in try filesUnder(url) {
            let line = relative + "\u{0}" + (try fileSha256(url.appendingPathComponent(relative))) + "\n"
            hasher.update(data: Data(line.utf8))
        }
        return hex(hasher.finalize())
    }

    static func fileSha256(_ url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
            hasher.update(data: block)
        }
        return hex(hasher.finalize())
    }

    /// Regular files under `folder`, '/'-separated, in the order Python sorts Path objects:
    /// component by component, each compared by code points (so "a/b" sorts before "a.txt").
    static func filesUnder(_ folder: URL) throws -> [String] {
        var files: [[String]] = []
        try collect(folder, prefix: [], into: &files)
        return files.sorted(by: componentsPrecede).map { $0.joined(separator: "/") }
    }

    private static func collect(_ folder: URL, prefix: [String], into files: inout [[String]]) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let child = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: child.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                try collect(child, prefix: prefix + [name], into: &files)
            } else {
                files.append(prefix + [name])
            }
        }
    }

    private static func componentsPrecede(_ a: [String], _ b: [String]) -> Bool {
        a.lexicographicallyPrecedes(b) { x, y in
            x.unicodeScalars.map(\.value).lexicographicallyPrecedes(y.unicodeScalars.map(\.value))
        }
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// Hex sha256 of in-memory bytes (the preprocessing spec's identity).
    public static func sha256(of data: Data) -> String {
        hex(SHA256.hash(data: data))
    }
}

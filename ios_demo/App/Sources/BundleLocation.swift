// Where the model bundle and the store live: a bundle imported through the Files app is copied to
// Application Support/bundle; otherwise the one shipped inside the app (a "bundle" folder resource).
import Foundation

enum BundleLocation {
    static var supportFolder: URL {
        get throws {
            try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        }
    }

    /// The store, next to the imported bundle; shared format with runtime/store/store.py.
    static var storeURL: URL {
        get throws { try supportFolder.appendingPathComponent("pocketclip.db") }
    }

    static func find() -> URL? {
        if let imported = try? supportFolder.appendingPathComponent("bundle", isDirectory: true),
           FileManager.default.fileExists(atPath: imported.appendingPathComponent("manifest.json").path) {
            return imported
        }
        if let shipped = Bundle.main.url(forResource: "bundle", withExtension: nil),
           FileManager.default.fileExists(atPath: shipped.appendingPathComponent("manifest.json").path) {
            return shipped
        }
        return nil
    }

    /// Copies a bundle folder picked in the Files app into Application Support (replacing an older one).
    static func importFolder(_ picked: URL) throws -> URL {
        let scoped = picked.startAccessingSecurityScopedResource()
        defer { if scoped { picked.stopAccessingSecurityScopedResource() } }
        guard FileManager.default.fileExists(atPath: picked.appendingPathComponent("manifest.json").path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "\(picked.lastPathComponent) has no manifest.json: pick a bundle folder made by `pocketclip export`"])
        }
        let target = try supportFolder.appendingPathComponent("bundle", isDirectory: true)
        let staging = try supportFolder.appendingPathComponent("bundle.partial", isDirectory: true)
        try? FileManager.default.removeItem(at: staging)
        try FileManager.default.copyItem(at: picked, to: staging)
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.moveItem(at: staging, to: target)
        return target
    }
}

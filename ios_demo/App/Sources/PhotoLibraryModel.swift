// The app's state on the main actor: photo access, incremental indexing as the library changes
// (PHPhotoLibraryChangeObserver: inserted, changed and removed photos), and the current search.
import Foundation
import Photos
import PocketClipCore
import SwiftUI

@MainActor
final class PhotoLibraryModel: NSObject, ObservableObject {
    @Published var status = "Starting…"
    @Published var query = ""
    @Published private(set) var results: [Hit] = []
    @Published private(set) var isIndexing = false
    @Published private(set) var needsBundle = false

    private var engine: PhotoEngine?
    private var assets: PHFetchResult<PHAsset>?
    private var pendingSync = false
    private var observing = false

    func start() async {
        guard engine == nil else { return }
        guard let bundle = BundleLocation.find() else {
            needsBundle = true
            status = "No model bundle: import one (a folder made by `pocketclip export`) with the toolbar button."
            return
        }
        do {
            status = "Loading the models (compiled once, on first launch)…"
            engine = try await PhotoEngine(bundle: bundle, storeURL: try BundleLocation.storeURL)
            needsBundle = false
        } catch {
            status = "Cannot open the bundle: \(error)"
            return
        }
        let access = await PHPhotoLibrary.requestAuthorization(for: .readWrite)
        guard access == .authorized || access == .limited else {
            status = "Photo access is off: allow it in Settings to index your photos."
            return
        }
        if !observing {
            PHPhotoLibrary.shared().register(self)
            observing = true
        }
        let options = PHFetchOptions()
        options.sortDescriptors = [NSSortDescriptor(key: "creationDate", ascending: true)]
        let fetched = PHAsset.fetchAssets(with: .image, options: options)
        assets = fetched
        await sync(fetched)
    }

    func importBundle(_ picked: URL) async {
        do {
            _ = try BundleLocation.importFolder(picked)
            engine = nil
            await start()
        } catch {
            status = "Import failed: \(error)"
        }
    }

    /// One sync at a time; a change arriving meanwhile triggers one more pass afterwards.
    private func sync(_ fetched: PHFetchResult<PHAsset>) async {
        guard engine != nil else { return }
        if isIndexing {
            pendingSync = true
            return
        }
        isIndexing = true
        defer { isIndexing = false }
        repeat {
            pendingSync = false
            guard let engine else { break }  // read each pass: an imported bundle replaces the engine
            let current = assets ?? fetched
            let list = current.objects(at: IndexSet(integersIn: 0 ..< current.count))
            status = "Indexing \(list.count) photos…"
            do {
                let limited = PHPhotoLibrary.authorizationStatus(for: .readWrite) == .limited
                let report = try await engine.sync(list, limited: limited)
                let total = try await engine.photoCount
                status = "\(total) photos indexed (\(report.embedded) new or changed, \(report.deleted) removed"
                    + (report.errors > 0 ? ", \(report.errors) unreadable or only in iCloud" : "")
                    + (report.withheld > 0 ? ", \(report.withheld) not visible with limited access, kept" : "") + ")"
            } catch {
                status = "Indexing stopped: \(error)"
            }
        } while pendingSync
    }

    func searchText() async {
        let text = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let engine, !text.isEmpty else { return }
        do {
            results = try await engine.searchText(text)
        } catch {
            status = "Search failed: \(error)"
        }
    }

    func searchSimilar(to path: String) async {
        guard let engine else { return }
        do {
            results = try await engine.searchSimilar(to: path)
        } catch {
            status = "Search failed: \(error)"
        }
    }
}

extension PhotoLibraryModel: PHPhotoLibraryChangeObserver {
    nonisolated func photoLibraryDidChange(_ change: PHChange) {
        Task { @MainActor in
            guard let previous = self.assets, let details = change.changeDetails(for: previous) else { return }
            let after = details.fetchResultAfterChanges
            self.assets = after
            if details.hasIncrementalChanges {
                let inserted = details.insertedObjects.count, changed = details.changedObjects.count
                let removed = details.removedObjects.count
                guard inserted + changed + removed > 0 else { return }
                self.status = "Library changed: \(inserted) added, \(changed) changed, \(removed) removed"
            }
            // The store diff (modification dates, identifiers) re-embeds exactly the inserted and changed
            // photos and marks the removed ones deleted.
            await self.sync(after)
        }
    }
}

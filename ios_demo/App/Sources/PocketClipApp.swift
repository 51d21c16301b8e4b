// The app: index the photo library on the device, search it by a description or by a photo.
import SwiftUI

@main
struct PocketClipApp: App {
    @StateObject private var library = PhotoLibraryModel()

    var body: some Scene {
        WindowGroup {
            ContentView()
                .environmentObject(library)
                .task { await library.start() }
        }
    }
}

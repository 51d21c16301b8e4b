// Search field, result grid, status line; a long press on a result searches for similar photos.
import SwiftUI
import UniformTypeIdentifiers

struct ContentView: View {
    @EnvironmentObject private var library: PhotoLibraryModel
    @State private var importing = false
    private let columns = [GridItem(.adaptive(minimum: 110), spacing: 2)]

    var body: some View {
        NavigationStack {
            VStack(spacing: 0) {
                if library.results.isEmpty {
                    ContentUnavailableView("Search your photos", systemImage: "photo.on.rectangle.angled",
                                           description: Text("Describe a photo: “a dog on a beach at sunset”."))
                } else {
                    ScrollView {
                        LazyVGrid(columns: columns, spacing: 2) {
                            ForEach(library.results) { hit in
                                AssetThumbnail(localIdentifier: hit.path)
                                    .contextMenu {
                                        Button("Similar photos", systemImage: "square.stack.3d.up") {
                                            Task { await library.searchSimilar(to: hit.path) }
                                        }
                                        Text(String(format: "score %.3f", hit.score))
                                    }
                            }
                        }
                    }
                }
                HStack {
                    if library.isIndexing { ProgressView().controlSize(.small) }
                    Text(library.status).font(.footnote).foregroundStyle(.secondary).lineLimit(2)
                }
                .padding(8)
            }
            .navigationTitle("PocketClip")
            .searchable(text: $library.query, prompt: "Describe a photo")
            .onSubmit(of: .search) { Task { await library.searchText() } }
            .toolbar {
                Button("Import bundle", systemImage: "square.and.arrow.down") { importing = true }
            }
            .fileImporter(isPresented: $importing, allowedContentTypes: [.folder]) { result in
                if case .success(let url) = result {
                    Task { await library.importBundle(url) }
                }
            }
        }
    }
}

struct AssetThumbnail: View {
    let localIdentifier: String
    @State private var image: UIImage?

    var body: some View {
        Color(uiColor: .secondarySystemBackground)
            .aspectRatio(1, contentMode: .fit)
            .overlay {
                if let image {
                    Image(uiImage: image).resizable().scaledToFill()
                }
            }
            .clipped()
            .task(id: localIdentifier) {
                image = await PhotoLoader.thumbnail(localIdentifier: localIdentifier, side: 110)
            }
    }
}

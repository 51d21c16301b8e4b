// swift-tools-version:5.9
// The platform-independent core of the iOS app (bundle, tokenizer, preprocessing, store, search)
// and its CoreML towers; the SwiftUI app (App/, project.yml) links both.
import PackageDescription

let package = Package(
    name: "PocketClip",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "PocketClipCore", targets: ["PocketClipCore"]),
        .library(name: "PocketClipCoreML", targets: ["PocketClipCoreML"]),
    ],
    targets: [
        // html5_entities.tsv: Python's html.entities.html5, which the tokenizer's text cleaning needs whole.
        // libz and libsqlite3 are the SDK's; their modules (`import zlib`, `import SQLite3`) link them too.
        .target(name: "PocketClipCore", resources: [.copy("Resources/html5_entities.tsv")],
                linkerSettings: [.linkedLibrary("z"), .linkedLibrary("sqlite3")]),
        .target(name: "PocketClipCoreML", dependencies: ["PocketClipCore"]),
        .testTarget(name: "PocketClipCoreTests", dependencies: ["PocketClipCore"]),
        .testTarget(name: "PocketClipCoreMLTests", dependencies: ["PocketClipCore", "PocketClipCoreML"]),
    ]
)

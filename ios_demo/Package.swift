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
        .target(name: "PocketClipCore", linkerSettings: [.linkedLibrary("z"), .linkedLibrary("sqlite3")]),
        .target(name: "PocketClipCoreML", dependencies: ["PocketClipCore"]),
        .testTarget(name: "PocketClipCoreTests", dependencies: ["PocketClipCore"]),
        .testTarget(name: "PocketClipCoreMLTests", dependencies: ["PocketClipCore", "PocketClipCoreML"]),
    ]
)

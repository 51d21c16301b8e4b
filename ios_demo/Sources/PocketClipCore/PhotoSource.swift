// What the indexer needs from a platform (runtime/indexing/source.py): the photo list, each photo's content
// hash, decoded pixels and facts, and an encoder. The app gives PhotoKit and its CoreML towers; the conformance
// runner a virtual gallery and the reference's vectors. The indexing rules themselves are LibraryIndexer's.
import Foundation

/// A photo as the library lists it (a PhotoKit asset on a phone, a file elsewhere).
public struct PhotoStat: Equatable {
    public var path: String
    public var size: Int64
    public var mtimeNs: Int64

    public init(path: String, size: Int64, mtimeNs: Int64) {
        self.path = path
        self.size = size
        self.mtimeNs = mtimeNs
    }
}

/// A photo decoded to the image tower's input, with its facts when the source read them from the same bytes (else
/// the indexer asks PhotoSource.facts).
public struct DecodedPhoto {
    public var pixels: [Float]
    public var width: Int
    public var height: Int
    public var facts: PhotoFacts?

    public init(pixels: [Float], width: Int, height: Int, facts: PhotoFacts? = nil) {
        self.pixels = pixels
        self.width = width
        self.height = height
        self.facts = facts
    }
}

/// One photo's failure, the reason as one line: its content (R10), or the environment (R11: `unavailable`,
/// tried again on every run; a photo only in iCloud is one, and is never downloaded to be indexed).
public enum PhotoFailure: Error, CustomStringConvertible {
    case content(String)
    case unavailable(String)

    public static let unavailablePrefix = "unavailable: "

    public var description: String {
        switch self {
        case .content(let why): return why
        case .unavailable(let why): return PhotoFailure.unavailablePrefix + why
        }
    }
}

public protocol PhotoSource {
    /// What meta `root` records: the library's name.
    var root: String { get }
    /// Only part of the library is visible (iOS's limited library): R14.
    var partial: Bool { get }
    /// The photos, sorted by path.
    func list() throws -> [PhotoStat]
    /// Why the library cannot be indexed at all (gone, unreadable, empty), or nil (R12).
    func rootProblem(_ photos: [PhotoStat]) -> String?
    /// Blake2b.contentHash of the photo's bytes; PhotoFailure when it cannot be read.
    func contentHash(_ photo: PhotoStat) throws -> String
    /// The photo decoded within the memory bound; PhotoFailure for the content or the environment.
    func decode(_ photo: PhotoStat) throws -> DecodedPhoto
    /// What the photo says about itself (PhotoFacts.read of its bytes, R21), without decoding it: for an embedded photo
    /// whose decode did not carry them, and for a row whose facts were never read (R22). PhotoFailure when it cannot
    /// be read.
    func facts(_ photo: PhotoStat) throws -> PhotoFacts
}

extension PhotoSource {
    public func rootProblem(_ photos: [PhotoStat]) -> String? { photos.isEmpty ? "holds no photo file" : nil }
}

/// The image tower: (path, content hash) and decoded pixels of a batch -> one L2-normalised vector each.
public protocol PhotoEmbedder {
    func embed(_ photos: [(path: String, hash: String)], _ decoded: [DecodedPhoto]) throws -> [[Float]]
}

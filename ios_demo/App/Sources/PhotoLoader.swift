// A photo's bytes from PhotoKit (downloaded from iCloud if need be) and its orientation, and small
// thumbnails for the result grid.
import Photos
import UIKit

enum PhotoLoadError: Error, CustomStringConvertible {
    case missing
    case noData(String)

    var description: String {
        switch self {
        case .missing: return "the photo is no longer in the library"
        case .noData(let why): return "PhotoKit returned no image data (\(why))"
        }
    }
}

enum PhotoLoader {
    /// The current version's encoded bytes and its EXIF orientation (1...8), for ImageDecoding + Preprocess.
    static func imageData(for asset: PHAsset) async throws -> (Data, Int) {
        let options = PHImageRequestOptions()
        options.version = .current
        options.deliveryMode = .highQualityFormat
        options.isNetworkAccessAllowed = true
        return try await withCheckedThrowingContinuation { continuation in
            // Data requests call their handler exactly once.
            PHImageManager.default().requestImageDataAndOrientation(for: asset, options: options) { data, _, orientation, info in
                if let data {
                    continuation.resume(returning: (data, Int(orientation.rawValue)))
                } else if let error = info?[PHImageErrorKey] as? Error {
                    continuation.resume(throwing: error)
                } else {
                    let cancelled = (info?[PHImageCancelledKey] as? Bool) == true
                    continuation.resume(throwing: PhotoLoadError.noData(cancelled ? "cancelled" : "unknown reason"))
                }
            }
        }
    }

    /// A square-ish thumbnail of at least `side` points' worth of pixels.
    static func thumbnail(localIdentifier: String, side: CGFloat) async -> UIImage? {
        guard let asset = PHAsset.fetchAssets(withLocalIdentifiers: [localIdentifier], options: nil).firstObject else {
            return nil
        }
        let options = PHImageRequestOptions()
        options.deliveryMode = .highQualityFormat  // one callback, not a degraded one first
        options.resizeMode = .fast
        options.isNetworkAccessAllowed = true
        let pixels = side * 3  // enough for a 3x screen
        return await withCheckedContinuation { continuation in
            PHImageManager.default().requestImage(for: asset, targetSize: CGSize(width: pixels, height: pixels),
                                                  contentMode: .aspectFill, options: options) { image, info in
                // .highQualityFormat calls back once, never with a degraded image first; a second call
                // would resume the continuation twice, which traps.
                if (info?[PHImageResultIsDegradedKey] as? Bool) == true { return }
                continuation.resume(returning: image)
            }
        }
    }
}

// A photo's bytes from PhotoKit, never downloaded from iCloud to be indexed (a photo only in iCloud waits: an
// environment error, tried again on the next run), and small thumbnails for the result grid.
import Photos
import PocketClipCore
import UIKit

enum PhotoLoader {
    /// The current version's encoded bytes and its EXIF orientation (1...8), read synchronously (the core's
    /// indexer runs off the main thread) and only from the device: network access is off, so an original that
    /// is only in iCloud is PhotoFailure.unavailable, not downloaded.
    static func imageData(for asset: PHAsset) throws -> (Data, Int) {
        let options = PHImageRequestOptions()
        options.version = .current
        options.deliveryMode = .highQualityFormat
        options.isNetworkAccessAllowed = false
        options.isSynchronous = true
        var result: Result<(Data, Int), PhotoFailure> = .failure(.unavailable("PhotoKit returned nothing"))
        PHImageManager.default().requestImageDataAndOrientation(for: asset, options: options) { data, _, orientation, info in
            if let data {
                result = .success((data, Int(orientation.rawValue)))
            } else if (info?[PHImageResultIsInCloudKey] as? Bool) == true {
                result = .failure(.unavailable("only in iCloud"))
            } else if let error = info?[PHImageErrorKey] as? Error {
                result = .failure(.unavailable("PhotoKit: \(error.localizedDescription)"))
            } else {
                let cancelled = (info?[PHImageCancelledKey] as? Bool) == true
                result = .failure(.unavailable(cancelled ? "the request was cancelled" : "PhotoKit returned no data"))
            }
        }
        return try result.get()
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

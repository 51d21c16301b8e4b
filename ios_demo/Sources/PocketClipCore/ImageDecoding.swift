// Photo files and PhotoKit data -> PixelBuffer + EXIF orientation, through ImageIO (Apple platforms).
// Pixels are taken as the file stores them, with no colour management, as Pillow does; the EXIF
// orientation is returned, not applied, so that Preprocess applies it exactly as Pillow would.
#if canImport(ImageIO) && canImport(CoreGraphics)
import CoreGraphics
import Foundation
import ImageIO

public enum ImageDecoding {
    public struct Decoded {
        public let pixels: PixelBuffer
        public let exifOrientation: Int  // 1...8; 1 = upright as stored
    }

    public static func decode(url: URL) throws -> Decoded {
        guard let source = CGImageSourceCreateWithURL(url as CFURL, nil) else {
            throw BundleError.malformed("\(url.path): not an image ImageIO can read")
        }
        return try decode(source, name: url.lastPathComponent, maxPixelSize: nil)
    }

    /// `maxPixelSize` (longer side) lets ImageIO decode a large photo at reduced size, like Pillow's
    /// JPEG draft mode in runtime/indexing/decode.py: pass one that keeps the shorter side >= 2x the model input.
    public static func decode(data: Data, maxPixelSize: Int? = nil) throws -> Decoded {
        guard let source = CGImageSourceCreateWithData(data as CFData, nil) else {
            throw BundleError.malformed("not an image ImageIO can read")
        }
        return try decode(source, name: "photo", maxPixelSize: maxPixelSize)
    }

    /// A photo's bytes decoded within the reference's bounds (runtime/indexing/decode.py), read from the header
    /// before any pixel is made: over 200 Mpx is refused; a JPEG decodes at the reduced size that keeps its shorter
    /// side >= 2 x the model input (Pillow's draft); any other format at full size, up to Pillow's 89.5 Mpx, so its
    /// pixels are the reference's. Returns the decoded picture and the photo's own width and height.
    public static func bounded(data: Data, size: Int) throws -> (decoded: Decoded, width: Int, height: Int) {
        guard let source = CGImageSourceCreateWithData(data as CFData, nil), let type = CGImageSourceGetType(source),
              let properties = CGImageSourceCopyPropertiesAtIndex(source, 0, nil) as? [CFString: Any] else {
            throw PhotoFailure.content("not an image ImageIO can read")
        }
        guard let width = (properties[kCGImagePropertyPixelWidth] as? NSNumber)?.intValue,
              let height = (properties[kCGImagePropertyPixelHeight] as? NSNumber)?.intValue, width > 0, height > 0 else {
            throw PhotoFailure.content("cannot decode: the header has no size")
        }
        let pixels = Int64(width) * Int64(height)
        let jpeg = (type as String) == "public.jpeg"
        if pixels > 200_000_000 || (!jpeg && pixels > 89_478_485) {
            throw PhotoFailure.content("decompression bomb refused (\(width)x\(height) pixels)")
        }
        do {
            let limit = jpeg ? draftLimit(width: width, height: height, size: size) : nil
            return (try decode(source, name: "photo", maxPixelSize: limit), width, height)
        } catch {
            throw PhotoFailure.content("cannot decode: \(error)")
        }
    }

    /// The longer-side limit that keeps the shorter side >= 2 x `size` (nil: decode at full size).
    public static func draftLimit(width: Int, height: Int, size: Int) -> Int? {
        let shorter = min(width, height), longer = max(width, height)
        guard shorter >= 4 * size else { return nil }
        return Int((Double(longer) * Double(2 * size) / Double(shorter)).rounded(.up))
    }

    private static func decode(_ source: CGImageSource, name: String, maxPixelSize: Int?) throws -> Decoded {
        let properties = CGImageSourceCopyPropertiesAtIndex(source, 0, nil) as? [CFString: Any]
        let orientation = (properties?[kCGImagePropertyOrientation] as? NSNumber)?.intValue ?? 1
        let image: CGImage?
        if let maxPixelSize {
            let options: [CFString: Any] = [
                kCGImageSourceCreateThumbnailFromImageAlways: true,
                kCGImageSourceThumbnailMaxPixelSize: maxPixelSize,
                kCGImageSourceCreateThumbnailWithTransform: false,  // orientation is applied by Preprocess
            ]
            image = CGImageSourceCreateThumbnailAtIndex(source, 0, options as CFDictionary)
        } else {
            image = CGImageSourceCreateImageAtIndex(source, 0, nil)
        }
        guard let image else { throw BundleError.malformed("\(name): ImageIO could not decode it") }
        return Decoded(pixels: try pixelBuffer(image), exifOrientation: (1 ... 8).contains(orientation) ? orientation : 1)
    }

    /// The decoded bytes themselves when they are 8-bit RGB(A) or grey; otherwise drawn into an 8-bit
    /// RGBA context in the image's own colour space (premultiplied, which Preprocess undoes).
    public static func pixelBuffer(_ image: CGImage) throws -> PixelBuffer {
        if let raw = rawPixels(image) { return raw }
        let w = image.width, h = image.height
        let rgbSpace = image.colorSpace?.model == .rgb ? image.colorSpace! : CGColorSpaceCreateDeviceRGB()
        let opaque = [CGImageAlphaInfo.none, .noneSkipLast, .noneSkipFirst].contains(image.alphaInfo)
        let alpha: CGImageAlphaInfo = opaque ? .noneSkipLast : .premultipliedLast
        var bytes = [UInt8](repeating: 0, count: w * h * 4)
        let drawn = bytes.withUnsafeMutableBytes { buffer -> Bool in
            guard let context = CGContext(data: buffer.baseAddress, width: w, height: h, bitsPerComponent: 8,
                                          bytesPerRow: w * 4, space: rgbSpace,
                                          bitmapInfo: alpha.rawValue | CGBitmapInfo.byteOrder32Big.rawValue) else {
                return false
            }
            context.draw(image, in: CGRect(x: 0, y: 0, width: w, height: h))
            return true
        }
        guard drawn else { throw BundleError.malformed("cannot draw a \(w)x\(h) image into an RGBA context") }
        if opaque { return PixelBuffer(width: w, height: h, channels: 3, bytes: dropFourth(bytes)) }
        return PixelBuffer(width: w, height: h, channels: 4, bytes: bytes, premultipliedAlpha: true)
    }

    private static func rawPixels(_ image: CGImage) -> PixelBuffer? {
        let order = image.bitmapInfo.intersection(.byteOrderMask)
        guard image.bitsPerComponent == 8, order == [] || order == .byteOrder32Big,
              !image.bitmapInfo.contains(.floatComponents),
              let data = image.dataProvider?.data as Data? else { return nil }
        let w = image.width, h = image.height, stride = image.bytesPerRow
        let bytes = [UInt8](data)
        let model = image.colorSpace?.model
        if model == .monochrome && image.bitsPerPixel == 8 {  // grey: replicated into R, G, B, as Pillow's convert("RGB")
            guard bytes.count >= stride * (h - 1) + w else { return nil }
            var out = [UInt8](repeating: 0, count: w * h * 3)
            for y in 0 ..< h {
                for x in 0 ..< w {
                    let v = bytes[y * stride + x]
                    out[(y * w + x) * 3] = v
                    out[(y * w + x) * 3 + 1] = v
                    out[(y * w + x) * 3 + 2] = v
                }
            }
            return PixelBuffer(width: w, height: h, channels: 3, bytes: out)
        }
        guard model == .rgb, image.bitsPerPixel == 32, bytes.count >= stride * (h - 1) + w * 4 else { return nil }
        let layout: (channels: Int, premultiplied: Bool)
        switch image.alphaInfo {
        case .last: layout = (4, false)
        case .premultipliedLast: layout = (4, true)
        case .noneSkipLast: layout = (3, false)
        default: return nil
        }
        let channels = layout.channels
        var out = [UInt8](repeating: 0, count: w * h * channels)
        for y in 0 ..< h {
            for x in 0 ..< w {
                for k in 0 ..< channels { out[(y * w + x) * channels + k] = bytes[y * stride + x * 4 + k] }
            }
        }
        return PixelBuffer(width: w, height: h, channels: channels, bytes: out, premultipliedAlpha: layout.premultiplied)
    }

    private static func dropFourth(_ rgbx: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(rgbx.count / 4 * 3)
        for i in stride(from: 0, to: rgbx.count, by: 4) { out += rgbx[i ..< i + 3] }
        return out
    }
}
#endif

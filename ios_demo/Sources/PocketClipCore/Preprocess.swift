// Decoded photo -> image-tower input, as runtime/bundle/preprocess.py: EXIF orientation first, alpha
// flattened onto the manifest's background, shorter side resized to `size` with Pillow's bicubic,
// centre crop, (x / 255 - mean) / std in float32, CHW.
import Foundation

/// An 8-bit decoded photo, row-major, interleaved channels (3 = RGB, 4 = RGBA).
public struct PixelBuffer: Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var bytes: [UInt8]
    /// RGBA from Core Graphics contexts is premultiplied; PNG files and Pillow hold straight alpha.
    public var premultipliedAlpha: Bool

    public init(width: Int, height: Int, channels: Int, bytes: [UInt8], premultipliedAlpha: Bool = false) {
        precondition(channels == 3 || channels == 4, "PixelBuffer holds RGB or RGBA")
        precondition(bytes.count == width * height * channels, "PixelBuffer: \(bytes.count) bytes for \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.bytes = bytes
        self.premultipliedAlpha = premultipliedAlpha
    }
}

public enum Preprocess {
    /// The whole pipeline: (3, size, size) float32, channel-major.
    public static func pixels(_ photo: PixelBuffer, exifOrientation: Int, spec: PreprocessSpec) -> [Float] {
        let upright = spec.exifTranspose ? oriented(photo, exifOrientation: exifOrientation) : photo
        let rgb = flattened(upright, background: spec.background)
        let square = resizeAndCrop(rgb, size: spec.size)
        return normalise(square.bytes, mean: spec.mean, std: spec.std)
    }

    /// EXIF orientation 1-8 applied as Pillow's ImageOps.exif_transpose does (6 = stored rotated, shown
    /// turned 90 degrees clockwise).
    public static func oriented(_ image: PixelBuffer, exifOrientation: Int) -> PixelBuffer {
        guard (2 ... 8).contains(exifOrientation) else { return image }
        let w = image.width, h = image.height, c = image.channels
        let swaps = exifOrientation >= 5
        let outW = swaps ? h : w, outH = swaps ? w : h
        var out = [UInt8](repeating: 0, count: image.bytes.count)
        for y in 0 ..< outH {
            for x in 0 ..< outW {
                let (sx, sy): (Int, Int) = switch exifOrientation {
                case 2: (w - 1 - x, y)  // mirror left-right
                case 3: (w - 1 - x, h - 1 - y)  // rotate 180
                case 4: (x, h - 1 - y)  // mirror top-bottom
                case 5: (y, x)  // transpose
                case 6: (y, h - 1 - x)  // rotate 90 clockwise
                case 7: (w - 1 - y, h - 1 - x)  // transverse
                default: (w - 1 - y, x)  // 8: rotate 90 counter-clockwise
                }
                let from = (sy * w + sx) * c, to = (y * outW + x) * c
                for k in 0 ..< c { out[to + k] = image.bytes[from + k] }
            }
        }
        return PixelBuffer(width: outW, height: outH, channels: c, bytes: out, premultipliedAlpha: image.premultipliedAlpha)
    }

    /// RGBA -> RGB over `background`, with Pillow's paste-with-mask arithmetic (round(x / 255) in integers).
    public static func flattened(_ image: PixelBuffer, background: [Int]) -> PixelBuffer {
        guard image.channels == 4 else { return image }
        var out = [UInt8](repeating: 0, count: image.width * image.height * 3)
        for i in 0 ..< image.width * image.height {
            let a = Int(image.bytes[i * 4 + 3])
            for k in 0 ..< 3 {
                var value = Int(image.bytes[i * 4 + k])
                if image.premultipliedAlpha && a > 0 && a < 255 {  // back to straight alpha first
                    value = min(255, (value * 255 + a / 2) / a)
                }
                out[i * 3 + k] = UInt8(div255(background[k] * (255 - a) + value * a))
            }
        }
        return PixelBuffer(width: image.width, height: image.height, channels: 3, bytes: out)
    }

    /// Pillow's DIV255: v / 255 rounded, exactly, for 0 <= v <= 255 * 255.
    static func div255(_ v: Int) -> Int {
        let t = v + 128
        return ((t >> 8) + t) >> 8
    }

    /// Shorter side to `size` (aspect kept), then the centred size x size square (runtime/bundle/preprocess.py).
    public static func resizeAndCrop(_ rgb: PixelBuffer, size: Int) -> PixelBuffer {
        precondition(rgb.channels == 3, "flatten alpha before resizing")
        let scale = Double(size) / Double(min(rgb.width, rgb.height))
        // Python's round() rounds halves to even.
        let newW = max(size, Int((Double(rgb.width) * scale).rounded(.toNearestOrEven)))
        let newH = max(size, Int((Double(rgb.height) * scale).rounded(.toNearestOrEven)))
        let resized = BicubicResize.resize(rgb.bytes, width: rgb.width, height: rgb.height, newWidth: newW, newHeight: newH)
        let left = Int((Double(newW - size) / 2.0).rounded(.toNearestOrEven))
        let top = Int((Double(newH - size) / 2.0).rounded(.toNearestOrEven))
        var out = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0 ..< size {
            let from = ((top + y) * newW + left) * 3
            out.replaceSubrange(y * size * 3 ..< (y + 1) * size * 3, with: resized[from ..< from + size * 3])
        }
        return PixelBuffer(width: size, height: size, channels: 3, bytes: out)
    }

    /// (H, W, 3) uint8 -> (3, H, W) float32 as numpy computes it: x / 255, minus mean, over std, all float32.
    public static func normalise(_ hwc: [UInt8], mean: [Float], std: [Float]) -> [Float] {
        let pixels = hwc.count / 3
        var out = [Float](repeating: 0, count: hwc.count)
        for i in 0 ..< pixels {
            for k in 0 ..< 3 {
                let x = Float(hwc[i * 3 + k]) / Float(255)
                out[k * pixels + i] = (x - mean[k]) / std[k]
            }
        }
        return out
    }
}

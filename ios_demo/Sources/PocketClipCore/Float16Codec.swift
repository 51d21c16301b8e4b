// Little-endian float16 blobs, the store's vector format, converted exactly as numpy's astype('<f2').
// Hand-written on bit patterns: Swift's Float16 type is unavailable on x86_64 macOS, and this gives
// the same bytes on every architecture (round to nearest, ties to even; overflow to infinity).
import Foundation

public enum Float16Codec {
    /// numpy's npy_floatbits_to_halfbits with ties-to-even rounding.
    public static func halfBits(_ value: Float) -> UInt16 {
        let f = value.bitPattern
        let sign = UInt16((f & 0x8000_0000) >> 16)
        let exponent = f & 0x7f80_0000
        if exponent >= 0x4780_0000 {  // too large for float16, or inf / NaN
            if exponent == 0x7f80_0000 {
                let significand = f & 0x007f_ffff
                if significand != 0 {  // NaN: keep the top payload bits, never turn it into infinity
                    var bits = UInt16(0x7c00 + (significand >> 13))
                    if bits == 0x7c00 { bits += 1 }
                    return sign + bits
                }
            }
            return sign + 0x7c00
        }
        if exponent <= 0x3800_0000 {  // float16 subnormal or zero
            if exponent < 0x3300_0000 { return sign }
            let shift = 113 - (exponent >> 23)
            var significand = (0x0080_0000 + (f & 0x007f_ffff)) >> shift
            if (significand & 0x3fff) != 0x1000 || (f & 0x7ff) != 0 {
                significand += 0x1000
            }
            return sign + UInt16(significand >> 13)  // a carry into the exponent is the right answer
        }
        let halfExponent = UInt16((exponent - 0x3800_0000) >> 13)
        var significand = f & 0x007f_ffff
        if (significand & 0x3fff) != 0x1000 {
            significand += 0x1000
        }
        // A carry out of the significand bumps the exponent (up to infinity), as numpy does.
        return sign &+ halfExponent &+ UInt16(significand >> 13)
    }

    public static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h & 0x7c00) >> 10
        let significand = UInt32(h & 0x03ff)
        if exponent == 0x1f {
            return Float(bitPattern: sign | 0x7f80_0000 | (significand << 13))
        }
        if exponent == 0 {
            if significand == 0 { return Float(bitPattern: sign) }
            // subnormal: value = significand * 2^-24, exact in float32
            let magnitude = Float(significand) * Float(bitPattern: 0x3380_0000)
            return sign != 0 ? -magnitude : magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (significand << 13))
    }

    /// float32 values -> little-endian float16 bytes (2 per value).
    public static func encode(_ values: [Float]) -> Data {
        var out = Data(count: values.count * 2)
        out.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                let bits = halfBits(v)
                raw[2 * i] = UInt8(bits & 0xff)
                raw[2 * i + 1] = UInt8(bits >> 8)
            }
        }
        return out
    }

    /// Little-endian float16 bytes -> float32 values.
    public static func decode(_ blob: Data) -> [Float] {
        let bytes = [UInt8](blob)
        return (0 ..< bytes.count / 2).map {
            float(fromHalfBits: UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8)
        }
    }
}

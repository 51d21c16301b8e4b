// BLAKE2b (RFC 7693) with a 16-byte digest: the store's content hash on every platform (docs/conformance.md,
// R3), as Python's hashlib.blake2b(digest_size=16). Written by hand because neither CryptoKit nor CommonCrypto
// has BLAKE2, and the hash must stay the one existing stores hold, so moved photos keep matching.
import Foundation

public struct Blake2b {
    private static let iv: [UInt64] = [0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
                                       0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179]
    private static let sigma: [[Int]] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
        [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
        [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
        [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
        [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
        [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
        [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
        [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
        [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    ]
    private static let block = 128

    private var h: [UInt64]
    private var buffer = [UInt8](repeating: 0, count: Blake2b.block)
    private var filled = 0
    private var counted: UInt64 = 0  // bytes compressed so far (the 128-bit counter's low word)
    private let digestBytes: Int

    public init(digestBytes: Int = 16) {
        self.digestBytes = digestBytes
        h = Blake2b.iv
        h[0] ^= 0x0101_0000 | UInt64(digestBytes)
    }

    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for byte in bytes {
            if filled == Blake2b.block {  // a full block is compressed once more data follows: the last one is final
                counted &+= UInt64(Blake2b.block)
                compress(last: false)
                filled = 0
            }
            buffer[filled] = byte
            filled += 1
        }
    }

    public mutating func hex() -> String {
        counted &+= UInt64(filled)
        for i in filled ..< Blake2b.block { buffer[i] = 0 }
        compress(last: true)
        return (0 ..< digestBytes).map { String(format: "%02x", Int(UInt8(truncatingIfNeeded: h[$0 / 8] >> (8 * UInt64($0 % 8))))) }
            .joined()
    }

    private static func rotr(_ x: UInt64, _ n: UInt64) -> UInt64 { (x >> n) | (x << (64 - n)) }

    private mutating func compress(last: Bool) {
        var m = [UInt64](repeating: 0, count: 16)
        for word in 0 ..< 16 {
            var value: UInt64 = 0
            for b in (0 ..< 8).reversed() { value = (value << 8) | UInt64(buffer[word * 8 + b]) }
            m[word] = value
        }
        var v = h + Blake2b.iv
        v[12] ^= counted
        if last { v[14] = ~v[14] }
        func mix(_ a: Int, _ b: Int, _ c: Int, _ d: Int, _ x: UInt64, _ y: UInt64) {
            v[a] = v[a] &+ v[b] &+ x; v[d] = Blake2b.rotr(v[d] ^ v[a], 32)
            v[c] = v[c] &+ v[d]; v[b] = Blake2b.rotr(v[b] ^ v[c], 24)
            v[a] = v[a] &+ v[b] &+ y; v[d] = Blake2b.rotr(v[d] ^ v[a], 16)
            v[c] = v[c] &+ v[d]; v[b] = Blake2b.rotr(v[b] ^ v[c], 63)
        }
        for round in 0 ..< 12 {
            let s = Blake2b.sigma[round % 10]
            mix(0, 4, 8, 12, m[s[0]], m[s[1]]); mix(1, 5, 9, 13, m[s[2]], m[s[3]])
            mix(2, 6, 10, 14, m[s[4]], m[s[5]]); mix(3, 7, 11, 15, m[s[6]], m[s[7]])
            mix(0, 5, 10, 15, m[s[8]], m[s[9]]); mix(1, 6, 11, 12, m[s[10]], m[s[11]])
            mix(2, 7, 8, 13, m[s[12]], m[s[13]]); mix(3, 4, 9, 14, m[s[14]], m[s[15]])
        }
        for i in 0 ..< 8 { h[i] ^= v[i] ^ v[i + 8] }
    }

    /// The content hash of a photo's bytes: 32 lowercase hex digits.
    public static func contentHash(_ data: Data) -> String {
        var hash = Blake2b()
        hash.update(data)
        return hash.hex()
    }
}

// gunzip for the bundle's tokenizer/*.txt.gz, through the system zlib (Apple's Compression framework
// reads raw deflate only, not the gzip wrapper).
import Foundation
import zlib

public enum Gunzip {
    public static func decompress(_ input: Data) throws -> Data {
        guard !input.isEmpty else { return Data() }
        var stream = z_stream()
        // inflateInit2 is a C macro, which Swift does not import; 16 + MAX_WBITS = gzip wrapper only.
        var status = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw BundleError.malformed("zlib inflateInit2 failed (\(status))") }
        defer { _ = inflateEnd(&stream) }
        var output = Data(count: input.count * 4)
        repeat {
            if Int(stream.total_out) >= output.count { output.count += input.count * 2 }
            let outputCount = output.count
            status = input.withUnsafeBytes { (source: UnsafeRawBufferPointer) -> Int32 in
                output.withUnsafeMutableBytes { (target: UnsafeMutableRawBufferPointer) -> Int32 in
                    let inBase = source.bindMemory(to: Bytef.self).baseAddress!
                    let outBase = target.bindMemory(to: Bytef.self).baseAddress!
                    stream.next_in = UnsafeMutablePointer(mutating: inBase + Int(stream.total_in))
                    stream.avail_in = uInt(input.count - Int(stream.total_in))
                    stream.next_out = outBase + Int(stream.total_out)
                    stream.avail_out = uInt(outputCount - Int(stream.total_out))
                    let result = inflate(&stream, Z_NO_FLUSH)
                    stream.next_in = nil
                    stream.next_out = nil
                    return result
                }
            }
        } while status == Z_OK
        guard status == Z_STREAM_END else {
            throw BundleError.malformed("not a readable gzip stream (zlib status \(status))")
        }
        output.count = Int(stream.total_out)
        return output
    }
}

// gunzip for the bundle's tokenizer/*.txt.gz, through the system zlib (Apple's Compression framework
// reads raw deflate only, not the gzip wrapper). `import zlib` is the SDK's own module (iOS 11+,
// macOS 10.13+, which also links libz); no module map of ours, which would clash with it.
import Foundation
import zlib

public enum Gunzip {
    public static func decompress(_ input: Data) throws -> Data {
        guard !input.isEmpty else { return Data() }
        // zlib keeps the stream's address in its state and checks it on every call, so the stream lives
        // at one fixed address (an inout `&local` gives no such guarantee in Swift).
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        // inflateInit2 is a C macro, which Swift does not import; 16 + MAX_WBITS = gzip wrapper only.
        var status = inflateInit2_(stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw BundleError.malformed("zlib inflateInit2 failed (\(status))") }
        defer { _ = inflateEnd(stream) }
        var output = Data(count: input.count * 4)
        repeat {
            if Int(stream.pointee.total_out) >= output.count { output.count += input.count * 2 }
            let outputCount = output.count
            status = input.withUnsafeBytes { (source: UnsafeRawBufferPointer) -> Int32 in
                output.withUnsafeMutableBytes { (target: UnsafeMutableRawBufferPointer) -> Int32 in
                    let inBase = source.bindMemory(to: Bytef.self).baseAddress!
                    let outBase = target.bindMemory(to: Bytef.self).baseAddress!
                    let consumed = Int(stream.pointee.total_in), produced = Int(stream.pointee.total_out)
                    stream.pointee.next_in = UnsafeMutablePointer(mutating: inBase + consumed)
                    stream.pointee.avail_in = uInt(input.count - consumed)
                    stream.pointee.next_out = outBase + produced
                    stream.pointee.avail_out = uInt(outputCount - produced)
                    let result = inflate(stream, Z_NO_FLUSH)
                    stream.pointee.next_in = nil  // the buffers are only valid inside these closures
                    stream.pointee.next_out = nil
                    return result
                }
            }
        } while status == Z_OK
        guard status == Z_STREAM_END else {
            throw BundleError.malformed("not a readable gzip stream (zlib status \(status))")
        }
        output.count = Int(stream.pointee.total_out)
        return output
    }
}

// Product quantization (runtime/search/pq.py): a code per sub-space, asymmetric scores through per-query lookup
// tables, then an exact re-rank of the best candidates on the full vectors (retrieve, then re-rank). A stored
// code is one byte per sub-space (K up to 256), or for K <= 16 two 4-bit codes a byte, the even sub-space in
// the low nibble (32 sub-spaces x 16 codewords = 16 bytes a photo, 16-entry tables).
import Foundation

public struct Codebooks {
    public let subspaces: Int  // M
    public let codewords: Int  // K: 256 (one byte a code) or 16 (4 bits)
    public let subDim: Int  // dim / M
    public let centroids: [Float]  // (M, K, subDim), C order

    public var dim: Int { subspaces * subDim }
    /// Two 4-bit codes a byte (K <= 16), else one byte per sub-space.
    public var nibbles: Bool { codewords <= 16 }
    /// Bytes of one photo's stored code (embeddings.pq_code).
    public var codeBytes: Int { nibbles ? (subspaces + 1) / 2 : subspaces }

    public init(subspaces: Int, codewords: Int, subDim: Int, centroids: [Float]) {
        precondition(centroids.count == subspaces * codewords * subDim, "codebooks: wrong number of values")
        precondition(codewords <= 256, "one byte per sub-space holds at most 256 codewords")
        self.subspaces = subspaces
        self.codewords = codewords
        self.subDim = subDim
        self.centroids = centroids
    }

    /// The bundle's pq/codebooks.npy, verified against the manifest and checked against its pq record.
    public init(manifest: Manifest) throws {
        guard let spec = manifest.pq else { throw BundleError.malformed("the bundle has no product-quantization codebooks") }
        let array = try NpyArray.read(try manifest.verify(spec.file))
        guard array.shape == [spec.subspaces, spec.codewords, spec.subDim],
              spec.subspaces * spec.subDim == manifest.model.embedDim else {
            throw BundleError.malformed("\(spec.file) is shaped \(array.shape), the manifest says "
                + "(\(spec.subspaces), \(spec.codewords), \(spec.subDim)) for dim \(manifest.model.embedDim)")
        }
        self.init(subspaces: spec.subspaces, codewords: spec.codewords, subDim: spec.subDim, centroids: try array.floats())
    }

    private func word(_ m: Int, _ k: Int) -> Int { (m * codewords + k) * subDim }

    /// The stored code (codeBytes bytes): per sub-space the nearest codeword, argmin |x - c|^2 computed as
    /// argmax (2 x.c - |c|^2) like runtime/search/pq.py (first index on ties), packed two a byte when K <= 16.
    public func encode(_ vector: [Float]) -> [UInt8] {
        let codes = subCodes(vector)
        guard nibbles else { return codes }
        var packed = [UInt8](repeating: 0, count: codeBytes)
        for (m, code) in codes.enumerated() { packed[m / 2] |= code << UInt8(4 * (m % 2)) }
        return packed
    }

    /// One code per sub-space (unpacked).
    public func subCodes(_ vector: [Float]) -> [UInt8] {
        precondition(vector.count == dim, "vector of dim \(vector.count), codebooks are for dim \(dim)")
        return (0 ..< subspaces).map { m in
            var best = 0
            var bestScore = -Float.infinity
            for k in 0 ..< codewords {
                let base = word(m, k)
                var dot: Float = 0
                var norm: Float = 0
                for d in 0 ..< subDim {
                    let c = centroids[base + d]
                    dot += vector[m * subDim + d] * c
                    norm += c * c
                }
                let score = 2 * dot - norm
                if score > bestScore {
                    bestScore = score
                    best = k
                }
            }
            return UInt8(best)
        }
    }

    /// (M, K) float32 inner products of the query's sub-vectors with every codeword, flat.
    public func lookupTables(_ query: [Float]) -> [Float] {
        precondition(query.count == dim, "query of dim \(query.count), codebooks are for dim \(dim)")
        var tables = [Float](repeating: 0, count: subspaces * codewords)
        for m in 0 ..< subspaces {
            for k in 0 ..< codewords {
                let base = word(m, k)
                var dot: Float = 0
                for d in 0 ..< subDim { dot += query[m * subDim + d] * centroids[base + d] }
                tables[m * codewords + k] = dot
            }
        }
        return tables
    }
}

/// Stored codes of N vectors kept column-major: one contiguous array of N bytes per byte of a code (faster to scan).
public struct PQCodes {
    public let codeBytes: Int
    public private(set) var columns: [[UInt8]]

    public init(codeBytes: Int) {
        self.codeBytes = codeBytes
        self.columns = Array(repeating: [], count: codeBytes)
    }

    /// From a (codeBytes, N) uint8 array such as golden/pq_codes.npy.
    public init(columnMajor bytes: [UInt8], codeBytes: Int) {
        let n = codeBytes == 0 ? 0 : bytes.count / codeBytes
        self.codeBytes = codeBytes
        self.columns = (0 ..< codeBytes).map { Array(bytes[$0 * n ..< ($0 + 1) * n]) }
    }

    public var count: Int { columns.first?.count ?? 0 }

    /// Appends one photo's stored code (the bytes of embeddings.pq_code).
    public mutating func append(_ code: [UInt8]) {
        precondition(code.count == codeBytes, "a code of \(code.count) bytes, expected \(codeBytes)")
        for b in 0 ..< codeBytes { columns[b].append(code[b]) }
    }

    /// The stored bytes of photo i.
    public func code(_ i: Int) -> [UInt8] { columns.map { $0[i] } }

    /// Sub-space m's code of photo i under `codebooks` (a nibble of byte m / 2 when K <= 16).
    public func subCode(_ codebooks: Codebooks, _ m: Int, _ i: Int) -> Int {
        codebooks.nibbles ? Int(columns[m / 2][i] >> UInt8(4 * (m % 2))) & 0xF : Int(columns[m][i])
    }
}

public enum ProductQuantization {
    /// Approximate inner products: sum over sub-spaces of T[m, code_m], accumulated in sub-space order in
    /// float32 like runtime/search/pq.py adc_scores; 4-bit codes are read from their nibble (16-entry tables).
    public static func adcScores(tables: [Float], codebooks: Codebooks, codes: PQCodes) -> [Float] {
        precondition(codes.codeBytes == codebooks.codeBytes, "codes of \(codes.codeBytes) bytes, codebooks make \(codebooks.codeBytes)")
        var scores = [Float](repeating: 0, count: codes.count)
        for m in 0 ..< codebooks.subspaces {
            let offset = m * codebooks.codewords
            if codebooks.nibbles {
                let column = codes.columns[m / 2]
                let shift = UInt8(4 * (m % 2))
                for i in 0 ..< column.count { scores[i] += tables[offset + Int((column[i] >> shift) & 0xF)] }
            } else {
                let column = codes.columns[m]
                for i in 0 ..< column.count { scores[i] += tables[offset + Int(column[i])] }
            }
        }
        return scores
    }

    /// The k best by PQ scores alone.
    public static func search(_ codebooks: Codebooks, codes: PQCodes, query: [Float], k: Int) -> [(index: Int, score: Float)] {
        let approx = adcScores(tables: codebooks.lookupTables(query), codebooks: codebooks, codes: codes)
        return Search.top(approx, k: k).map { ($0, approx[$0]) }
    }

    /// The k best: PQ proposes `candidates` (the manifest's search.rerank_candidates on a phone), exact dot
    /// products on the full vectors re-rank them.
    public static func search(_ codebooks: Codebooks, codes: PQCodes, query: [Float], k: Int,
                              vectors: VectorMatrix, candidates: Int) -> [(index: Int, score: Float)] {
        let approx = adcScores(tables: codebooks.lookupTables(query), codebooks: codebooks, codes: codes)
        let pool = Search.top(approx, k: max(k, candidates))
        let exact = pool.map { i -> Float in
            var sum: Float = 0
            for (a, b) in zip(vectors.row(i), query) { sum += a * b }
            return sum
        }
        return Search.top(exact, k: k).map { (pool[$0], exact[$0]) }
    }
}

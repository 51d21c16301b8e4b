// Product quantization (runtime/pq.py): M-byte codes, asymmetric scores through per-query lookup
// tables, then an exact re-rank of the best candidates on the full vectors (retrieve, then re-rank).
import Foundation

public struct Codebooks {
    public let subspaces: Int  // M
    public let codewords: Int  // K = 256
    public let subDim: Int  // dim / M
    public let centroids: [Float]  // (M, K, subDim), C order

    public var dim: Int { subspaces * subDim }

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

    /// M bytes: per sub-space the nearest codeword, argmin |x - c|^2 computed as argmax (2 x.c - |c|^2)
    /// like runtime/pq.py (first index on ties).
    public func encode(_ vector: [Float]) -> [UInt8] {
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

/// Codes of N vectors kept column-major: one contiguous array of N bytes per sub-space (faster to scan).
public struct PQCodes {
    public let subspaces: Int
    public private(set) var columns: [[UInt8]]

    public init(subspaces: Int) {
        self.subspaces = subspaces
        self.columns = Array(repeating: [], count: subspaces)
    }

    /// From an (M, N) uint8 array such as golden/pq_codes.npy.
    public init(columnMajor bytes: [UInt8], subspaces: Int) {
        let n = subspaces == 0 ? 0 : bytes.count / subspaces
        self.subspaces = subspaces
        self.columns = (0 ..< subspaces).map { Array(bytes[$0 * n ..< ($0 + 1) * n]) }
    }

    public var count: Int { columns.first?.count ?? 0 }

    /// Appends one photo's code (the M bytes of embeddings.pq_code).
    public mutating func append(_ code: [UInt8]) {
        precondition(code.count == subspaces, "a code of \(code.count) bytes, expected \(subspaces)")
        for m in 0 ..< subspaces { columns[m].append(code[m]) }
    }

    /// The M bytes of photo i.
    public func code(_ i: Int) -> [UInt8] { columns.map { $0[i] } }
}

public enum ProductQuantization {
    /// Approximate inner products: sum over sub-spaces of T[m, code_m], accumulated in sub-space order in
    /// float32 like runtime/pq.py adc_scores.
    public static func adcScores(tables: [Float], codewords: Int, codes: PQCodes) -> [Float] {
        var scores = [Float](repeating: 0, count: codes.count)
        for m in 0 ..< codes.subspaces {
            let offset = m * codewords
            let column = codes.columns[m]
            for i in 0 ..< column.count { scores[i] += tables[offset + Int(column[i])] }
        }
        return scores
    }

    /// The k best by PQ scores alone.
    public static func search(_ codebooks: Codebooks, codes: PQCodes, query: [Float], k: Int) -> [(index: Int, score: Float)] {
        let approx = adcScores(tables: codebooks.lookupTables(query), codewords: codebooks.codewords, codes: codes)
        return Search.top(approx, k: k).map { ($0, approx[$0]) }
    }

    /// The k best: PQ proposes `candidates` (the manifest's search.rerank_candidates on a phone), exact dot
    /// products on the full vectors re-rank them.
    public static func search(_ codebooks: Codebooks, codes: PQCodes, query: [Float], k: Int,
                              vectors: VectorMatrix, candidates: Int) -> [(index: Int, score: Float)] {
        let approx = adcScores(tables: codebooks.lookupTables(query), codewords: codebooks.codewords, codes: codes)
        let pool = Search.top(approx, k: max(k, candidates))
        let exact = pool.map { i -> Float in
            var sum: Float = 0
            for (a, b) in zip(vectors.row(i), query) { sum += a * b }
            return sum
        }
        return Search.top(exact, k: k).map { (pool[$0], exact[$0]) }
    }
}

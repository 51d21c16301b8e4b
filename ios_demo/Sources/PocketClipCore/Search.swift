// Exact search: dot products of a normalised query with the store's normalised vectors (float16 in
// the store, float32 here), top-k with ties going to the lower index, as runtime/search/hits.py.
import Foundation

/// (N, dim) float32 vectors in one flat row-major array.
public struct VectorMatrix {
    public let dim: Int
    public private(set) var values: [Float]

    public init(dim: Int, values: [Float] = []) {
        precondition(dim > 0 && values.count % dim == 0, "VectorMatrix: \(values.count) values for dim \(dim)")
        self.dim = dim
        self.values = values
    }

    /// From the store's float16 blobs, decoded once (one blob per row).
    public init(dim: Int, float16Blobs: [Data]) {
        self.init(dim: dim, values: float16Blobs.flatMap { Float16Codec.decode($0) })
    }

    public var count: Int { values.count / dim }

    public func row(_ i: Int) -> ArraySlice<Float> { values[i * dim ..< (i + 1) * dim] }

    public mutating func append(_ vector: [Float]) {
        precondition(vector.count == dim, "vector of \(vector.count) values, the matrix has dim \(dim)")
        values += vector
    }

    /// Dot product of the query with every row: the cosine, since both sides are L2-normalised.
    public func scores(_ query: [Float]) -> [Float] {
        precondition(query.count == dim, "query of dim \(query.count), the matrix has dim \(dim)")
        return values.withUnsafeBufferPointer { rows in
            query.withUnsafeBufferPointer { q in
                (0 ..< count).map { i in
                    var sum: Float = 0
                    let base = i * dim
                    for d in 0 ..< dim { sum += rows[base + d] * q[d] }
                    return sum
                }
            }
        }
    }
}

public enum Search {
    /// Indices of the k largest scores, best first; equal scores keep the lower index first, NaN ranks
    /// last (as android_demo/core; a NaN would otherwise break the sort's ordering).
    public static func top(_ scores: [Float], k: Int) -> [Int] {
        let scores = scores.contains(where: \.isNaN) ? scores.map { $0.isNaN ? -Float.infinity : $0 } : scores
        let k = min(k, scores.count)
        guard k > 0 else { return [] }
        if k > 64 {  // many candidates (PQ's first stage): one sort beats insertion
            let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            return Array(order.prefix(k))
        }
        var best: [Int] = []  // kept sorted, at most k long: O(N k), fine for a phone's top-k
        best.reserveCapacity(k + 1)
        for i in scores.indices {
            if best.count == k, let last = best.last, !(scores[i] > scores[last]) { continue }
            var at = best.count
            while at > 0 && scores[i] > scores[best[at - 1]] { at -= 1 }
            best.insert(i, at: at)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// L2-normalised copy (an encoder output is already normalised; a mean of several is not).
    public static func normalised(_ v: [Float]) -> [Float] {
        let norm = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    /// The k best rows for a query: (index, score), best first.
    public static func exact(_ matrix: VectorMatrix, query: [Float], k: Int) -> [(index: Int, score: Float)] {
        let scores = matrix.scores(query)
        return top(scores, k: k).map { ($0, scores[$0]) }
    }
}

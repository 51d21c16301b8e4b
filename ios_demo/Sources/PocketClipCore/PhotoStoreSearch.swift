// What searches read from the store (the SQL stays with the store: PhotoStore.swift and this file): every
// vector of a small library, or ids and codes alone and then just the candidates' vectors (CodeIndex).
import Foundation

extension PhotoStore {
    /// Every 'ok' photo's vector of `model`, in id order, decoded from float16 once.
    public func vectors(model: String) throws -> StoredVectors {
        guard let dim = try meta()[StoreSchema.MetaKey.dim].flatMap(Int.init), dim > 0 else {
            throw StoreError.other("the store has no model bound yet (no 'dim' in meta)")
        }
        let rows = try driver.query("SELECT p.id, p.path, e.vector, e.pq_code FROM embeddings e JOIN photos p "
                                    + "ON p.id = e.photo_id WHERE e.model = ? AND p.status = 'ok' ORDER BY p.id",
                                    [.text(model)])
        var out = StoredVectors(matrix: VectorMatrix(dim: dim))
        let codeLength = rows.first?[3].data?.count ?? 0
        var codes = codeLength > 0 ? PQCodes(codeBytes: codeLength) : nil
        for row in rows {
            guard let id = row[0].int, let blob = row[2].data, blob.count == dim * 2 else { continue }
            out.ids.append(id)
            out.paths.append(row[1].string ?? "")
            out.matrix.append(Float16Codec.decode(blob))
            if let code = row[3].data, code.count == codeLength {
                codes?.append([UInt8](code))
            } else {
                codes = nil  // a photo without a code: PQ search is off until the codes are rebuilt
            }
        }
        out.codes = codes
        return out
    }

    /// How many photos of `model` a search sees ('ok', with a vector).
    public func searchableCount(model: String) throws -> Int {
        Int(try driver.query("SELECT count(*) FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE e.model = ? "
                             + "AND p.status = 'ok' AND e.vector IS NOT NULL", [.text(model)]).first?[0].int ?? 0)
    }

    /// Ids and PQ codes of the searchable photos, in id order, without their vectors (CodeIndex's load).
    public func codes(model: String, codeBytes: Int, _ each: (Int64, [UInt8]) throws -> Void) throws {
        var last: Int64 = -1
        while true {
            let rows = try driver.query("SELECT p.id, e.pq_code FROM embeddings e JOIN photos p ON p.id = e.photo_id "
                                        + "WHERE e.model = ? AND p.status = 'ok' AND e.vector IS NOT NULL AND p.id > ? "
                                        + "ORDER BY p.id LIMIT 8192",
                                        [.text(model), .integer(last)])
            guard let tail = rows.last?[0].int else { return }
            for row in rows {
                guard let id = row[0].int, let code = row[1].data, code.count == codeBytes else {
                    throw StoreError.other("photo \(row[0].int ?? -1) has no PQ code of \(codeBytes) bytes: index again")
                }
                try each(id, [UInt8](code))
            }
            last = tail
        }
    }

    /// The float16 vectors of a few photos (the candidates a search re-ranks), by id.
    public func vectors(model: String, ids: [Int64]) throws -> [Int64: [Float]] {
        var out: [Int64: [Float]] = [:]
        var start = 0
        while start < ids.count {
            let part = Array(ids[start ..< min(start + 500, ids.count)])
            start += part.count
            let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
            for row in try driver.query("SELECT photo_id, vector FROM embeddings WHERE model = ? AND photo_id IN (\(marks))",
                                        [SQLValue.text(model)] + part.map { SQLValue.integer($0) }) {
                if let id = row[0].int, let blob = row[1].data { out[id] = Float16Codec.decode(blob) }
            }
        }
        return out
    }

    public func path(of id: Int64) throws -> String? {
        try driver.query("SELECT path FROM photos WHERE id = ?", [.integer(id)]).first?[0].string
    }
}

// Offline places (docs/contracts.md, "Photo facts"): a GPS position to the place it is in, from
// runtime/facts/places.tsv.gz (GeoNames' places of 1,000 people or more), by runtime/facts/places.py's rule, as the
// Kotlin core's Places.kt. No network.
import Foundation

/// A place a position resolves to (an empty region is nil).
public struct Place: Equatable {
    public let city: String
    public let region: String?
    public let country: String
    public let latitude: Double
    public let longitude: Double
}

/// The places file in memory (~155,000 rows). A position resolves to the row whose unit vector has the largest dot
/// product with the position's (the nearest by great-circle distance), the first in file order on a tie, and to none
/// when that dot is below cos(placeRadiusKm / earthRadiusKm). Brute force over every row in double: ~1 ms a photo.
public final class Places {
    public static let earthRadiusKm = 6371.0088  // the mean radius (IUGG)
    public static let placeRadiusKm = 100.0  // farther than this from every place: no place (open sea, wilderness)
    public static let minDot = cos(placeRadiusKm / earthRadiusKm)
    public static let header = ["city", "region", "country", "latitude", "longitude", "population"]

    private let city: [String], region: [String], country: [String]
    private let position: [Double], vectors: [Double]

    /// The places of a places.tsv.gz file's bytes (the app's resource, the repository's runtime/facts/places.tsv.gz).
    public init(gzipped: Data) throws {
        let lines = try Gunzip.decompress(gzipped).split(separator: 0x0A, omittingEmptySubsequences: true)
        func fields(_ line: Data) -> [String] {
            line.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        }
        guard let first = lines.first, fields(first) == Self.header else {
            throw BundleError.malformed("not a places file (its header is not \(Self.header))")
        }
        var city: [String] = [], region: [String] = [], country: [String] = []
        var position: [Double] = [], vectors: [Double] = []
        for line in lines.dropFirst() {
            let r = fields(line)
            guard r.count >= 5, let latitude = Double(r[3]), let longitude = Double(r[4]) else {
                throw BundleError.malformed("a places row without a position: \(r.prefix(3))")
            }
            city.append(r[0])
            region.append(r[1])
            country.append(r[2])
            position += [latitude, longitude]
            vectors += Self.unit(latitude, longitude)
        }
        self.city = city
        self.region = region
        self.country = country
        self.position = position
        self.vectors = vectors
    }

    /// The unit vector (cos φ cos λ, cos φ sin λ, sin φ) of a position in degrees.
    public static func unit(_ latitude: Double, _ longitude: Double) -> [Double] {
        let lat = latitude * (Double.pi / 180), lon = longitude * (Double.pi / 180)
        return [cos(lat) * cos(lon), cos(lat) * sin(lon), sin(lat)]
    }

    public var count: Int { city.count }

    public func place(_ i: Int) -> Place {
        Place(city: city[i], region: region[i].isEmpty ? nil : region[i], country: country[i], latitude: position[i * 2],
              longitude: position[i * 2 + 1])
    }

    /// The row a position resolves to, or nil (no place within placeRadiusKm).
    public func nearest(latitude: Double, longitude: Double) -> Int? {
        let u = Self.unit(latitude, longitude)
        var best = -1
        var bestDot = -Double.infinity
        vectors.withUnsafeBufferPointer { v in
            for i in 0 ..< city.count {
                let dot = v[i * 3] * u[0] + v[i * 3 + 1] * u[1] + v[i * 3 + 2] * u[2]
                if dot > bestDot { best = i; bestDot = dot }  // strictly greater: the first row wins a tie
            }
        }
        return best >= 0 && bestDot >= Self.minDot ? best : nil
    }

    public func resolve(latitude: Double, longitude: Double) -> Place? {
        nearest(latitude: latitude, longitude: longitude).map(place)
    }
}

import Foundation
import XCTest
@testable import PocketClipCore

final class PlacesTest: XCTestCase {
    func testLisbonResolvesToLisbonPortugal() throws {
        let places = try TestInputs.places()
        XCTAssertEqual(places.resolve(latitude: 38.7167, longitude: -9.1333),
                       Place(city: "Lisbon", region: "Lisbon", country: "Portugal", latitude: 38.71667, longitude: -9.13333))
        XCTAssertEqual(places.resolve(latitude: -33.8688, longitude: 151.2093)?.city, "Sydney")
    }

    func testMidAtlanticResolvesToNothing() throws {
        XCTAssertNil(try TestInputs.places().resolve(latitude: 30, longitude: -40))
    }

    func testTheFirstRowWinsATieAndTheRadiusIsAHundredKilometres() throws {
        // gzip of "city\tregion\tcountry\tlatitude\tlongitude\tpopulation\n" + "First\t\tA\t10.0\t20.0\t1000\n"
        // + "Second\tR\tB\t10.0\t20.0\t5000\n" + "Far\tR\tC\t-10.0\t-20.0\t1000\n" (the Kotlin test gzips the same text)
        let gzipped = Data(base64Encoded: "H4sIAAAAAAACA02LwQmAMBAE32svyilYgAopQCuQGEJA7kK8POxeow/9LMMMa4OeSM4HYVjJrOnEvmrQ"
                           + "vDnswv6lKDEXLVyZkA4FBrTUELoyLRFVi7PCG2aMv9KXYtZ06wn14+vvcgE2v6JxfQAAAA==")!
        let small = try Places(gzipped: gzipped)
        XCTAssertEqual(small.resolve(latitude: 10.3, longitude: 20.2),
                       Place(city: "First", region: nil, country: "A", latitude: 10, longitude: 20))  // an empty region is nil
        let edge = 100.0 / Places.earthRadiusKm * 180.0 / Double.pi  // 100 km of latitude, in degrees
        XCTAssertEqual(small.resolve(latitude: -10.0 + edge * 0.999, longitude: -20)?.city, "Far")
        XCTAssertNil(small.resolve(latitude: -10.0 + edge * 1.001, longitude: -20))
    }
}

package org.pocketclip.core

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Test
import java.io.ByteArrayOutputStream
import java.util.zip.GZIPOutputStream

class PlacesTest {
    private val places get() = TestInputs.places

    @Test
    fun lisbonResolvesToLisbonPortugal() {
        val found = places.resolve(38.7167, -9.1333)!!
        assertEquals(Place("Lisbon", "Lisbon", "Portugal", 38.71667, -9.13333), found)
        assertEquals("Sydney", places.resolve(-33.8688, 151.2093)?.city)
    }

    @Test
    fun midAtlanticResolvesToNothing() {
        assertNull(places.resolve(30.0, -40.0))
    }

    @Test
    fun theFirstRowWinsATieAndTheRadiusIsAHundredKilometres() {
        val text = "city\tregion\tcountry\tlatitude\tlongitude\tpopulation\n" +
            "First\t\tA\t10.0\t20.0\t1000\nSecond\tR\tB\t10.0\t20.0\t5000\nFar\tR\tC\t-10.0\t-20.0\t1000\n"
        val gzipped = ByteArrayOutputStream().also { out -> GZIPOutputStream(out).use { it.write(text.toByteArray()) } }
        val small = Places.read(gzipped.toByteArray().inputStream())
        assertEquals(Place("First", null, "A", 10.0, 20.0), small.resolve(10.3, 20.2)) // an empty region is null
        val edge = 100.0 / Places.EARTH_RADIUS_KM * 180.0 / Math.PI // 100 km of latitude, in degrees
        assertEquals("Far", small.resolve(-10.0 + edge * 0.999, -20.0)?.city)
        assertNull(small.resolve(-10.0 + edge * 1.001, -20.0))
    }
}

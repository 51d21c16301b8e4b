// Offline places (docs/contracts.md, "Photo facts"): a GPS position to the place it is in, from
// runtime/facts/places.tsv.gz (GeoNames' places of 1,000 people or more), by runtime/facts/places.py's rule. No network.
package org.pocketclip.core

import java.io.InputStream
import java.util.zip.GZIPInputStream
import kotlin.math.cos
import kotlin.math.sin

/** A place a position resolves to (an empty region is null). */
data class Place(val city: String, val region: String?, val country: String, val latitude: Double, val longitude: Double)

/**
 * The places file in memory (~155,000 rows). A position resolves to the row whose unit vector has the largest dot
 * product with the position's (the nearest by great-circle distance), the first in file order on a tie, and to none
 * when that dot is below cos(PLACE_RADIUS_KM / EARTH_RADIUS_KM). Brute force over every row in double: ~1 ms a photo,
 * and no grid whose edges could pick another row than the reference's.
 */
class Places private constructor(
    private val city: Array<String>, private val region: Array<String>, private val country: Array<String>,
    private val position: DoubleArray, private val vectors: DoubleArray,
) {
    companion object {
        const val EARTH_RADIUS_KM = 6371.0088 // the mean radius (IUGG)
        const val PLACE_RADIUS_KM = 100.0 // farther than this from every place: no place (open sea, wilderness)
        val MIN_DOT = cos(PLACE_RADIUS_KM / EARTH_RADIUS_KM)
        val HEADER = listOf("city", "region", "country", "latitude", "longitude", "population")

        /** The places of a places.tsv.gz stream (the app's asset, the repository's runtime/facts/places.tsv.gz). */
        fun read(gzipped: InputStream): Places {
            val rows = ArrayList<List<String>>()
            GZIPInputStream(gzipped).bufferedReader(Charsets.UTF_8).use { reader ->
                val header = reader.readLine()
                require(header?.split('\t') == HEADER) { "not a places file: its header is ${header?.take(80)}" }
                reader.lineSequence().filter { it.isNotEmpty() }.forEach { rows.add(it.split('\t')) }
            }
            val position = DoubleArray(rows.size * 2)
            val vectors = DoubleArray(rows.size * 3)
            rows.forEachIndexed { i, r ->
                position[i * 2] = r[3].toDouble()
                position[i * 2 + 1] = r[4].toDouble()
                unit(position[i * 2], position[i * 2 + 1]).copyInto(vectors, i * 3)
            }
            return Places(Array(rows.size) { rows[it][0] }, Array(rows.size) { rows[it][1] }, Array(rows.size) { rows[it][2] },
                position, vectors)
        }

        /** The unit vector (cos φ cos λ, cos φ sin λ, sin φ) of a position in degrees. */
        fun unit(latitude: Double, longitude: Double): DoubleArray {
            val lat = Math.toRadians(latitude)
            val lon = Math.toRadians(longitude)
            return doubleArrayOf(cos(lat) * cos(lon), cos(lat) * sin(lon), sin(lat))
        }
    }

    val size: Int get() = city.size

    fun place(i: Int): Place = Place(city[i], region[i].ifEmpty { null }, country[i], position[i * 2], position[i * 2 + 1])

    /** The row a position resolves to, or null (no place within PLACE_RADIUS_KM). */
    fun nearest(latitude: Double, longitude: Double): Int? {
        val (x, y, z) = unit(latitude, longitude).toList()
        var best = -1
        var bestDot = Double.NEGATIVE_INFINITY
        for (i in city.indices) {
            val dot = vectors[i * 3] * x + vectors[i * 3 + 1] * y + vectors[i * 3 + 2] * z
            if (dot > bestDot) { best = i; bestDot = dot } // strictly greater: the first row wins a tie
        }
        return if (best >= 0 && bestDot >= MIN_DOT) best else null
    }

    fun resolve(latitude: Double, longitude: Double): Place? = nearest(latitude, longitude)?.let(::place)
}

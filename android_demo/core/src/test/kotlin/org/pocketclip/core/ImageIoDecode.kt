// The JVM's platform decoder (javax.imageio) -> RgbaImage, as Android's BitmapFactory is on a phone.
package org.pocketclip.core

import java.io.File
import javax.imageio.ImageIO

object ImageIoDecode {
    fun decode(file: File): RgbaImage {
        val image = ImageIO.read(file) ?: error("$file: javax.imageio cannot decode it")
        val argb = image.getRGB(0, 0, image.width, image.height, null, 0, image.width)
        return RgbaImage.fromArgb(image.width, image.height, argb, image.colorModel.hasAlpha())
    }
}

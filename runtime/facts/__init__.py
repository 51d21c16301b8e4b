"""What a photo says about itself (date taken, GPS, place, camera, format) and the offline places it resolves to."""

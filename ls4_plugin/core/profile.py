"""The publishing profile (GUIDE §2): what every published COG, tile index row and WMS layer is.

One home for these numbers: the COG writer, its validator, the footprint, the tile index row and
the mapfile read them here.
"""

TARGET_EPSG = 3857
TARGET_SRS = f"EPSG:{TARGET_EPSG}"
BLOCK_SIZE = 512  # tiles of the COG, and the size its overviews go down to
BAND_COUNTS = {"bw": 1, "nc": 3}
DEFAULT_COMPRESSION = {"bw": "DEFLATE", "nc": "JPEG"}
LOSSLESS = ("DEFLATE", "ZSTD")
JPEG_QUALITY = 85

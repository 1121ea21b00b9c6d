"""GDAL helpers every module that reads rasters shares: GDAL's errors as a list of messages
instead of printed text, and opening a file read-only whether or not GDAL's Python exceptions
are on."""

from contextlib import contextmanager

from osgeo import gdal


@contextmanager
def gdal_errors():
    """Collect GDAL's error messages in a list instead of printing them (warnings are dropped).

    The handler is pushed on GDAL's per-thread stack and popped afterwards, so no global state
    changes for other code.
    """
    messages = []

    def handler(err_class, _err_no, message):
        if err_class >= gdal.CE_Failure:
            messages.append(" ".join(str(message).split()))

    gdal.PushErrorHandler(handler)
    try:
        yield messages
    finally:
        gdal.PopErrorHandler()


def open_raster(path):
    """Open ``path`` read-only with GDAL: ``(dataset or None, GDAL's messages)``.

    Works whether or not some other code has turned on ``gdal.UseExceptions()``.
    """
    with gdal_errors() as messages:
        try:
            dataset = gdal.Open(str(path), gdal.GA_ReadOnly)
        except RuntimeError as error:
            messages.append(str(error))
            dataset = None
    return dataset, messages

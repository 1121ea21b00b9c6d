"""URLs of the services LS4 publishes to: one rule for adding a query to a service URL."""

from urllib.parse import urlencode


def with_query(url: str, query: dict[str, str]) -> str:
    """``url`` with ``query`` added the way QGIS's WMS provider does: "?" or "&", then the pairs.

    A URL that already ends in "?" or "&" gets the pairs directly.
    """
    separator = "" if url.endswith(("?", "&")) else "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode(query)}"


def capabilities_url(wms_url: str, version: str | None = None) -> str:
    """The WMS GetCapabilities request of ``wms_url`` (with VERSION when given)."""
    query = {"SERVICE": "WMS", "REQUEST": "GetCapabilities"}
    if version:
        query["VERSION"] = version
    return with_query(wms_url, query)

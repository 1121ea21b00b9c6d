"""Validate STAC objects against the official JSON schemas vendored in tests/stac_schemas/,
offline: a ``$ref`` or extension URI with no vendored file is an error, never a download.

LS4's own ``ls4:`` extension is not vendored: its schema is what LS4 publishes in the stack's
bucket, so a test fetches it from there (the local stack, not the internet) and passes it in
``published`` ({URI: schema}).
"""

import json
from functools import cache
from pathlib import Path

import pystac.validation
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

SCHEMAS = Path(__file__).resolve().parent / "stac_schemas"
STAC = "https://schemas.stacspec.org/v1.1.0"
CORE = {
    "Feature": f"{STAC}/item-spec/json-schema/item.json",
    "Collection": f"{STAC}/collection-spec/json-schema/collection.json",
    "Catalog": f"{STAC}/catalog-spec/json-schema/catalog.json",
}


def _uris():
    """URI -> vendored file, for every schema a STAC 1.1.0 object with our extensions needs."""
    spec = SCHEMAS / "stac-spec-v1.1.0"
    found = {CORE["Catalog"]: spec / "catalog.json", CORE["Collection"]: spec / "collection.json"}
    for path in spec.glob("*.json"):
        if path.stem not in ("catalog", "collection"):
            found[f"{STAC}/item-spec/json-schema/{path.name}"] = path
    for path in (SCHEMAS / "geojson").glob("*.json"):
        found[f"https://geojson.org/schema/{path.name}"] = path
    for folder in SCHEMAS.glob("*-v*"):
        name, _, version = folder.name.rpartition("-v")
        if name != "stac-spec":
            uri = f"https://stac-extensions.github.io/{name}/v{version}/schema.json"
            found[uri] = folder / "schema.json"
    return found


@cache
def registry():
    files = _uris()

    def retrieve(uri):
        path = files.get(uri.rstrip("#"))
        if path is None:
            raise NoSuchResource(ref=uri)  # offline: nothing is fetched
        return Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT7)

    return Registry(retrieve=retrieve)


def _registry(published):
    if not published:
        return registry()
    resources = [
        (uri, Resource.from_contents(schema, default_specification=DRAFT7))
        for uri, schema in published.items()
    ]
    return registry().with_resources(resources)


def errors(document, published=None):
    """Every schema error of a STAC Item, Collection or Catalog (dict), as text."""
    uris = [CORE[document["type"]]] + list(document.get("stac_extensions", []))
    problems = []
    known = _registry(published)
    for uri in uris:
        try:
            schema = known.get_or_retrieve(uri).value.contents
        except Exception as error:  # referencing's retrieval errors
            problems.append(f"{uri}: no vendored schema ({error})")
            continue
        validator = Draft7Validator(schema, registry=known)
        for error in validator.iter_errors(document):
            path = "/".join(str(part) for part in error.absolute_path)
            problems.append(f"{uri} at {path or '(root)'}: {error.message[:300]}")
    return problems


class OfflineValidator(pystac.validation.JsonSchemaSTACValidator):
    """pystac's own validator (``pystac.validation.validate_dict(..., validator=...)``) with
    the vendored schemas and the ``published`` ones, and no download: an unknown URI fails."""

    def __init__(self, published=None):
        super().__init__()
        for uri, path in _uris().items():
            self.schema_cache.setdefault(uri, json.loads(path.read_text()))
        self.schema_cache.update(published or {})

    def _get_schema(self, schema_uri):
        schema = self.schema_cache.get(schema_uri) or self.schema_cache.get(schema_uri + "#")
        if schema is None:
            raise pystac.validation.GetSchemaError(schema_uri, LookupError("not vendored"))
        return schema

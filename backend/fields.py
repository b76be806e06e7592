"""Request field types shared by the domains: ids and tokens in paths, and text and JSON
every database can store.

PostgreSQL rejects NUL characters in text and JSONB, and JSON has no NaN or Infinity (which
Python's parser accepts), so such input is refused up front with a 422 instead of failing at
the database with a 500.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

MAX_JSON_DEPTH = 32
MAX_ID = 2**63 - 1  # ids are 64-bit; a larger one would fail at the database, not with a 422

# A row's id in a URL path, and an optional one in a query string.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
OptionalIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
# A page of a list that is read newest first: how many rows, and how many to skip.
PageLimit = Annotated[int, Query(ge=1, le=500)]
PageOffset = Annotated[int, Query(ge=0, le=1_000_000)]
# A share link's id in a URL path (URL-safe base64 of 128 random bits).
ShareId = Annotated[str, Path(min_length=16, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
# A share link's token in a URL path (URL-safe base64 of at least 128 random bits).
ShareToken = Annotated[str, Path(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text


def check_json_document(value: Any, *, depth: int = 0) -> Any:
    """Raise ValueError on NUL characters, non-finite numbers or nesting past the limit."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            check_json_document(item, depth=depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json_document(item, depth=depth + 1)
    return value


# One line of printable text (a name, a search string).
Line = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\x00-\x1f\x7f]*$")]
# Free text: newlines and tabs are fine, NUL is not.
Text = Annotated[str, AfterValidator(_no_nul)]
JsonDocument = Annotated[dict[str, Any], AfterValidator(check_json_document)]


class DocumentedAs:
    """Annotation giving a field ``model``'s JSON schema, not its own, changing nothing else.

    For a field the service validates itself (``Annotated[JsonDocument, DocumentedAs(Spec)]``):
    requests are validated, and errors reported, as the field's own type says, while the
    OpenAPI document shows ``model``. Its schema is generated in the same pass as the rest
    of the document, so ``model`` and the models it refers to become components there (named
    by pydantic, which keeps them apart from other components of the same name) and every
    ``$ref`` resolves.
    """

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        del core_schema
        return handler(self.model.__pydantic_core_schema__)

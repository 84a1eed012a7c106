"""Base models: answers tolerate fields we do not know yet; requests refuse fields we do not know."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class APIModel(BaseModel):
    """A model of something the API answers; unknown fields are kept, not rejected."""

    # defer_build: schemas are built on first use, keeping ``import wacloud_integrations`` cheap.
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready dict (for XCom, Prefect results, MCP output)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=False)


class RequestModel(BaseModel):
    """A model of a request body; a misspelt field is an error before anything is sent."""

    # Built at import (few, and FastAPI needs them built when the sandbox uses them as bodies).
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def body(self) -> dict[str, Any]:
        """The JSON body, with unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

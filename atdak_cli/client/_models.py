"""The answer of ``GET /models``: frozen dataclasses, lenient parsing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from atdak_cli.client._types import JSON, _int, _rest, _str

__all__ = ["Model", "ModelList"]


@dataclass(frozen=True, slots=True)
class Model:
    """One entry of ``GET /models``."""

    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _KNOWN = frozenset({"id", "object", "created", "owned_by"})

    @classmethod
    def from_dict(cls, data: JSON) -> Model:
        return cls(
            id=_str(data.get("id")),
            object=_str(data.get("object"), "model"),
            created=_int(data.get("created")),
            owned_by=_str(data.get("owned_by")),
            extra=_rest(data, cls._KNOWN),
        )


@dataclass(frozen=True, slots=True)
class ModelList:
    """The answer of ``GET /models``; iterating yields its models."""

    data: list[Model] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: object) -> ModelList:
        """Lenient: whatever is not a model is left out (nothing at all: an empty list)."""
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            items = []
        return cls([Model.from_dict(m) for m in items if _is_model(m)])

    @classmethod
    def parse(cls, data: object) -> ModelList:
        """Strict: raises ``ValueError`` unless ``data`` is a model list (``{"data": [...]}``
        or a bare list) with a model among its entries, if it has any. An empty answer here
        would pass for "the server serves no models"."""
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValueError("it has no `data` array")
        models = cls.from_dict(items)
        if items and not models.data:
            raise ValueError(f"none of its {len(items)} entries is a model with an id")
        return models

    def __iter__(self) -> Iterator[Model]:
        return iter(self.data)


def _is_model(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    model_id = entry.get("id")
    return isinstance(model_id, str) and bool(model_id)

"""PATCH bodies: a field left out stays as it is; null clears only what may be empty."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

_NULL = {"type": "null"}


def _schema_as_validated(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The JSON schema says what validation does: null only for the `nullable` fields,
    and no default, since a field left out keeps its value rather than taking one."""
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    examples: list[dict[str, Any]] = getattr(model, "examples", [])
    if examples:
        schema["examples"] = examples
    for name, field in model.model_fields.items():
        prop = schema.get("properties", {}).get(field.alias or name)
        if prop is None:
            continue
        prop.pop("default", None)
        if name in nullable or "anyOf" not in prop:
            continue
        options = [option for option in prop.pop("anyOf") if option != _NULL]
        if len(options) == 1:
            prop.update(options[0])
        else:
            prop["anyOf"] = options


class PatchModel(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_schema_as_validated)

    # Fields that a null clears; for every other field null is an error, not a no-op.
    nullable: ClassVar[frozenset[str]] = frozenset()
    # Bodies for the JSON schema (a subclass's own `json_schema_extra` would replace the
    # schema's correction above).
    examples: ClassVar[list[dict[str, Any]]] = []

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_allowed(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)

"""JSON Schema of the document, generated from the same field definitions the validator uses."""

from __future__ import annotations

from portal.configuration import registry
from portal.configuration.planner import VERSION
from portal.configuration.registry import ENV_NAME, Field, RecordKind
from portal.configuration.secrets import reference_keys

_TYPES = {"list": "array", "integer": "integer", "boolean": "boolean", "string": "string"}


def _property(f: Field) -> dict:
    prop: dict = {"description": f.description} if f.description else {}
    # An optional field may be left empty ("field:" alone), which means its default.
    prop["type"] = _TYPES[f.type] if f.required else [_TYPES[f.type], "null"]
    if f.type == "list":
        prop["items"] = {"type": "string"}
    elif f.type == "integer" and f.minimum is not None:
        prop["minimum"] = f.minimum
    elif f.type == "string":
        if f.max_length:
            prop["maxLength"] = f.max_length
        if f.choices:
            prop["enum"] = [*f.choices] if f.required else [*f.choices, None]
    if f.default not in (None, "", []):
        prop["default"] = f.default
    return prop


def _record(kind: RecordKind) -> dict:
    properties: dict = {}
    exclusive = []
    for f in kind.fields:
        if f.secret:
            env_key, file_key = reference_keys(f)
            label = f.description or f.name
            properties[env_key] = {
                "description": f"{label} — the name of the environment variable holding it.",
                "type": "string",
                "pattern": ENV_NAME.pattern,
            }
            properties[file_key] = {
                "description": f"{label} — the path of a file holding it.",
                "type": "string",
                "minLength": 1,
            }
            exclusive.append({"not": {"required": [env_key, file_key]}})
        else:
            properties[f.name] = _property(f)
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": [f.name for f in kind.fields if f.required],
        "properties": properties,
    }
    if exclusive:
        schema["allOf"] = exclusive
    return schema


def schema() -> dict:
    tables = {
        kind.table: {"type": ["array", "null"], "items": _record(kind)} for kind in registry.kinds()
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Exchange Interop Portal configuration",
        "type": "object",
        "additionalProperties": False,
        "properties": {"version": {"const": VERSION}, **tables},
    }

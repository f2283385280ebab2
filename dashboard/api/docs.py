"""The readable API reference at /api/v1/docs: server-rendered from the OpenAPI document, no scripts, works offline."""
from __future__ import annotations

import re

from flask import render_template
from markupsafe import Markup, escape


def render(doc: dict) -> str:
    """The HTML page for an OpenAPI document."""
    schemas = doc["components"]["schemas"]
    operations = [_operation(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    return render_template("api/docs.html", info=doc["info"], version=doc["openapi"], operations=operations,
                           schemas=[_schema(name, schema) for name, schema in sorted(schemas.items())],
                           blocks=_blocks(doc["info"]["description"]), text=inline_markup)


def _operation(path: str, method: str, op: dict) -> dict:
    return {
        "method": method.upper(), "path": path, "anchor": op["operationId"], "summary": op["summary"],
        "description": _blocks(op.get("description", "")),
        "parameters": [{"name": p["name"], "in": p["in"], "type": type_text(p["schema"]), "required": p["required"],
                        "default": p["schema"].get("default"), "description": p.get("description", "")}
                       for p in op.get("parameters", [])],
        "responses": [{"status": status, "description": r["description"],
                       "content": [(media, type_text(c["schema"]), "$ref" in c["schema"])
                                   for media, c in r.get("content", {}).items()]}
                      for status, r in op["responses"].items()],
    }


def _schema(name: str, schema: dict) -> dict:
    required = set(schema.get("required", ()))
    return {"name": name, "description": schema.get("description", ""), "type": type_text(schema),
            "fields": [{"name": field, "type": type_text(prop), "required": field in required,
                        "description": prop.get("description", "")}
                       for field, prop in schema.get("properties", {}).items()]}


def type_text(schema: dict) -> str:
    """A short human reading of a JSON schema: `integer 1–1000`, `array of Station`, `"json" | "geojson"`."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "enum" in schema:
        return " | ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in schema["enum"])
    if "const" in schema:
        return f'"{schema["const"]}"'
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(type_text(s) for s in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        if "prefixItems" in schema:
            return "[" + ", ".join(type_text(s) for s in schema["prefixItems"]) + "]"
        return f"array of {type_text(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of string to {type_text(schema['additionalProperties'])}"
    text = kind if "format" not in schema else f"{kind} ({schema['format']})"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        text += f" {'' if low is None else low}–{'' if high is None else high}"
    return text


def inline_markup(raw: str) -> Markup:
    """Escaped text with `code` spans."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(raw))))


def _blocks(raw: str) -> list[tuple[str, list[str]]]:
    """Paragraphs and bullet lists of a description: [("p", [text]) | ("ul", [item, …])]."""
    blocks: list[tuple[str, list[str]]] = []
    for line in raw.splitlines():
        line = line.strip()
        if not line:
            blocks.append(("p", []))
        elif line.startswith("* "):
            if not blocks or blocks[-1][0] != "ul":
                blocks.append(("ul", []))
            blocks[-1][1].append(line[2:])
        elif blocks and blocks[-1][1] and blocks[-1][0] == "ul":
            blocks[-1][1][-1] += " " + line  # a wrapped bullet
        elif blocks and blocks[-1][0] == "p":
            blocks[-1][1].append(line)
        else:
            blocks.append(("p", [line]))
    return [(kind, lines if kind == "ul" else [" ".join(lines)]) for kind, lines in blocks if lines]

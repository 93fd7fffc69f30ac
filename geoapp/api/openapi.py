"""The one OpenAPI document: the OGC API part (written from the layer registry) plus every other operation.

``/api`` is what OGC clients (OWSLib, QGIS, GDAL) and fuzzers read, so it must describe every operation geoapp
answers, writes included, with their request bodies. The OGC part comes from :mod:`ogc_openapi` (OpenAPI 3.0,
per-collection paths with the layers' own parameters); the rest — projects, imports, routes, printing, auth,
progress — comes from FastAPI's description of its routes, converted from OpenAPI 3.1 to 3.0 so the document
stays readable by 3.0 clients. FastAPI's ``/openapi.json`` (and ``/docs``) serve the same document.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from geoapp.api.routers.ogc_openapi import EXCEPTION, openapi_document
from geoapp.editing.projects import EDITABLE
from geoapp.layers.registry import Layer, registry
from geoapp.vocab import Vocabulary, vocabularies

_PARAM = re.compile(r"\{[^{}/]{1,40}\}")
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
ERROR_STATUSES = {
    "400": "错误的参数 / invalid parameter",
    "401": "需要登录 / log in first",
    "403": "无权操作 / not allowed for this account",
    "404": "未找到 / not found",
    "409": "与现有数据冲突 / conflicts with the stored data",
    "412": "版本已变 / changed meanwhile (If-Match)",
    "413": "请求过大 / too large",
    "422": "数据未通过检查 / did not pass the checks",
    "428": "须带 If-Match / If-Match required",
    "429": "请求过于频繁 / too many requests",
    "503": "暂不可用 / unavailable, retry later",
}


def _to_30(node: Any) -> Any:
    """An OpenAPI 3.1 (JSON Schema 2020-12) fragment in OpenAPI 3.0 terms: ``anyOf [X, null]`` → X nullable,
    ``type: [X, "null"]`` → X nullable, ``const`` → a one-value enum, ``examples`` → ``example``."""
    if isinstance(node, list):
        return [_to_30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_30(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            rest = [o for o in options if o != {"type": "null"}]
            out.pop(key)
            if len(rest) == 1 and "$ref" not in rest[0]:
                out = {**rest[0], **out}
            else:
                out[key] = rest
            out["nullable"] = True
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        if len(types) < len(out["type"]):
            out["nullable"] = True
        out["type"] = types[0] if len(types) == 1 else "string"
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out and isinstance(out["examples"], list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    out.pop("contentMediaType", None)
    return out


def _covered(path: str, ogc_paths: dict[str, Any], layers: dict[str, Layer]) -> bool:
    """Whether the OGC part already describes ``path`` (for every collection when it has ``{collection_id}``)."""
    shapes = {_PARAM.sub("{}", p) for p in ogc_paths}
    if "{collection_id}" not in path:
        return _PARAM.sub("{}", path) in shapes
    return all(_PARAM.sub("{}", path.replace("{collection_id}", cid)) in shapes for cid in layers)


def _with_errors(operation: dict[str, Any]) -> dict[str, Any]:
    """Every operation's refusals use the one error body (geoapp/api/errors.py)."""
    responses = operation.setdefault("responses", {})
    if "422" in responses:  # FastAPI's validation shape is not ours: a body that fails checks gets the one body
        responses["422"] = {"description": ERROR_STATUSES["422"], "content": {"application/json": {
            "schema": {"type": "object"}}}}
    for status, words in ERROR_STATUSES.items():
        responses.setdefault(status, {"description": words, "content": {"application/json": {"schema": EXCEPTION}}})
    return operation


def _collection_enum(operation: dict[str, Any], layers: dict[str, Layer]) -> None:
    for param in operation.get("parameters", []):
        if param.get("name") == "collection_id":
            param["schema"] = {"type": "string", "enum": list(layers)}


def full_document(app: FastAPI, base: str, layers: dict[str, Layer], vocabs: dict[str, Vocabulary]) -> dict:
    """The OGC document with every other route of ``app`` added (3.0), and the one error body declared."""
    doc = openapi_document(base, layers, vocabs)
    fastapi_doc = _fastapi_document(app)
    for path, operations in fastapi_doc.get("paths", {}).items():
        if _covered(path, doc["paths"], layers):
            continue
        entry: dict[str, Any] = {}
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            operation = _to_30(copy.deepcopy(operation))
            _collection_enum(operation, layers)
            entry[method] = _with_errors(operation)
        doc["paths"][path] = entry
    schemas = doc["components"]["schemas"]
    schemas.update({name: _to_30(schema) for name, schema in
                    fastapi_doc.get("components", {}).get("schemas", {}).items() if name not in schemas})
    schemas["exception"] = ERROR_SCHEMA
    if "projects" in layers:
        schemas["ProjectFields"] = project_fields_schema(layers["projects"])
        for path, method in (("/projects", "post"), ("/projects/{code}", "patch")):
            operation = doc["paths"].get(path, {}).get(method)
            if operation is not None:
                operation["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ProjectFields"}}}}
    return doc


_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number"}


def project_fields_schema(layer: Layer) -> dict[str, Any]:
    """The body of ``POST /projects`` and ``PATCH /projects/{code}``: the editable fields of the projects layer
    (the import's fields, so the API refuses exactly what an import refuses), plus the point as lon/lat."""
    properties: dict[str, Any] = {}
    for prop in layer.properties:
        if prop.name in EDITABLE:
            properties[prop.name] = {"type": _JSON_TYPES.get(prop.type, "string"), "nullable": True,
                                     "description": f"{prop.title.zh} / {prop.title.en}"
                                     + (f"（{prop.unit}）" if prop.unit else "")}
    properties["division"] = {"type": "string", "description": "旗县市区（名称、简称或代码，同 division_code） / "
                              "division by name, short form or code (same as division_code)"}
    for axis, words in (("lon", "经度 / longitude"), ("lat", "纬度 / latitude")):
        properties[axis] = {"type": "number", "description": f"{words}（坐标系见 crs 参数 / in the crs parameter's "
                            "system）"}
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "description": "项目字段（与导入表头对应） / project fields (the import's fields)"}


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["code", "description"],
    "description": "geoapp 的统一错误格式 / the one error body of geoapp",
    "properties": {
        "code": {"type": "string", "description": "OGC 风格的错误代码 / OGC-style exception code"},
        "description": {"type": "string", "description": "中文 / English"},
        "zh": {"type": "string"}, "en": {"type": "string"},
        "parameter": {"type": "string", "description": "出错的参数或字段 / the parameter or field at fault"},
        "allowed": {"type": "array", "items": {}, "description": "可用的值 / accepted values"},
        "request_id": {"type": "string", "description": "请求编号（服务器日志中可查） / id in the server log"},
    },
}


def _fastapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's own description of its routes (cached on the app: routes do not change after start)."""
    cached = getattr(app.state, "fastapi_openapi", None)
    if cached is None:
        cached = get_openapi(title=app.title, version=app.version, routes=app.routes)
        app.state.fastapi_openapi = cached
    return cached


def install_openapi(app: FastAPI) -> None:
    """Make FastAPI's ``/openapi.json`` (read by ``/docs``) the same one document as ``/api``."""
    layers_dir = app.state.settings.layers_dir

    def openapi() -> dict[str, Any]:
        doc = full_document(app, "", registry(layers_dir), vocabularies(layers_dir))
        doc["servers"] = [{"url": "/"}]
        return doc

    app.openapi = openapi  # type: ignore[method-assign]

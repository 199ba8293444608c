#!/usr/bin/env python3
"""Validates recorded HTTP exchanges against a vendor's OpenAPI 3.0 description (openapi-core).

Input: a JSON Lines file, one exchange per line:
  {"method": "get", "path": "/conversations/cnv_1", "query": "limit=2" | null,
   "status": 200, "response_content_type": "application/json", "response_body": "<text>",
   "request_content_type": "application/json" | null, "request_body": <JSON value> | null,
   "note": "free text shown on failure"}

Checks, per exchange:
  - a 2xx answer: openapi-core validates the whole response (status declared, content type,
    body schema) for the operation the path matches; a non-JSON (binary) body is not
    schema-checked, any bytes match `format: binary`;
  - any other answer: the body must have the vendor's error shape (--error-shape); the spec
    declares no error bodies;
  - a request body of an exchange answered 2xx: openapi-core validates the request (path,
    parameters, body schema); refused requests are skipped, as negative tests send invalid
    bodies on purpose. For a
    multipart request (request_content_type multipart/form-data) the caller records its fields as
    nested JSON (`sender[handle]` -> {"sender": {"handle": …}}, files left out) with every leaf a
    string; the validator converts leaves to the types the operation's JSON schema names
    (integer, number, boolean) and validates that as application/json, because the spec only
    declares JSON bodies for those operations although it documents multipart for attachments.

Known spec defects the caller may opt into correcting (--fix), each printed in the summary:
  nullable-ref  `{"$ref": X, "nullable": true}` is read as "X or null": OpenAPI 3.0 ignores
                siblings of $ref, yet the authors clearly mean nullable (Front's
                ConversationResponse.assignee and .recipient, which are null when unassigned).
  null-described  a property whose description says "set it to null" is nullable (Front's
                UpdateConversation.assignee_id and UpdateConversationAssignee.assignee_id say
                "Set it to null to unassign" but are typed as plain strings).

Exit status: 0 when every exchange validates, 1 when any fails, 2 on bad input.
"""

import argparse
import copy
import json
import sys

try:
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest, MockResponse
    import jsonschema
except ImportError as e:  # pragma: no cover
    print(f"python venv missing: run tests/run ({e})", file=sys.stderr)
    sys.exit(2)

ERROR_SHAPES = {
    "front": {
        "type": "object",
        "required": ["_error"],
        "properties": {
            "_error": {
                "type": "object",
                "required": ["status", "title", "message"],
                "properties": {
                    "status": {"type": "integer"},
                    "title": {"type": "string"},
                    "message": {"type": "string"},
                },
            }
        },
    },
    "any": {},
}


def fix_nullable_ref(node):
    if isinstance(node, dict):
        if "$ref" in node and node.get("nullable") is True:
            ref = node["$ref"]
            node.clear()
            node["anyOf"] = [{"$ref": ref}, {"type": "object", "nullable": True, "enum": [None]}]
        for v in node.values():
            fix_nullable_ref(v)
    elif isinstance(node, list):
        for v in node:
            fix_nullable_ref(v)


def fix_null_described(node):
    if isinstance(node, dict):
        for key in ("properties",):
            props = node.get(key)
            if isinstance(props, dict):
                for prop in props.values():
                    desc = str(prop.get("description", "")).lower() if isinstance(prop, dict) else ""
                    if "to null" in desc or "to `null`" in desc:
                        prop["nullable"] = True
        for v in node.values():
            fix_null_described(v)
    elif isinstance(node, list):
        for v in node:
            fix_null_described(v)


FIXES = {"nullable-ref": fix_nullable_ref, "null-described": fix_null_described}


def resolve(spec, schema):
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 50:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema, seen = node, seen + 1
    return schema if isinstance(schema, dict) else {}


def coerce_form(spec, schema, value):
    """Turns the string leaves of a form into the types `schema` names."""
    schema = resolve(spec, schema)
    for part in schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", []):
        value = coerce_form(spec, part, value)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return {k: coerce_form(spec, props[k], v) if k in props else v for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items", {})
        return [coerce_form(spec, items, v) for v in value]
    if isinstance(value, str):
        kind = schema.get("type")
        try:
            if kind == "integer":
                return int(value)
            if kind == "number":
                return float(value)
        except ValueError:
            return value
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
    return value


def request_schema(spec, method, path):
    """The application/json request schema of the operation `path` matches (static segments win)."""
    best = None
    parts = path.strip("/").split("/")
    for template, item in spec.get("paths", {}).items():
        tparts = template.strip("/").split("/")
        if len(tparts) != len(parts) or method not in item:
            continue
        params = 0
        for t, p in zip(tparts, parts):
            if t.startswith("{") and t.endswith("}"):
                params += 1
            elif t != p:
                break
        else:
            if best is None or params < best[0]:
                best = (params, item[method])
    if best is None:
        return None
    body = resolve(spec, best[1].get("requestBody", {}))
    return body.get("content", {}).get("application/json", {}).get("schema")


def describe(exc):
    parts = [str(exc)]
    cause = exc.__cause__
    while cause is not None:
        errs = getattr(cause, "schema_errors", None)
        if errs:
            parts.extend(f"  - {getattr(e, 'json_path', '')}: {e.message}" for e in errs)
        else:
            parts.append(f"  caused by: {cause}")
        cause = cause.__cause__
    return "\n".join(parts)[:4000]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--exchanges", required=True)
    ap.add_argument("--fix", action="append", default=[], choices=sorted(FIXES))
    ap.add_argument("--error-shape", default="any", choices=sorted(ERROR_SHAPES))
    args = ap.parse_args()

    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    spec = copy.deepcopy(spec)
    for name in args.fix:
        FIXES[name](spec)
    server = spec.get("servers", [{"url": "http://localhost"}])[0]["url"].rstrip("/")
    api = OpenAPI.from_dict(spec)
    error_shape = ERROR_SHAPES[args.error_shape]

    failures, responses, requests = [], 0, 0
    with open(args.exchanges, encoding="utf-8") as f:
        lines = [l for l in f if l.strip()]
    if not lines:
        print("no exchanges to validate", file=sys.stderr)
        sys.exit(2)
    for n, line in enumerate(lines, 1):
        ex = json.loads(line)
        method = ex["method"].lower()
        label = f"#{n} {method.upper()} {ex['path']} -> {ex['status']} {ex.get('note') or ''}".rstrip()
        req_body = ex.get("request_body")
        req_ctype = ex.get("request_content_type") or "application/json"
        if req_body is not None and req_ctype.startswith("multipart/form-data"):
            schema = request_schema(spec, method, ex["path"])
            if schema is not None:
                req_body = coerce_form(spec, schema, req_body)
            req_ctype = "application/json"
        req_data = json.dumps(req_body).encode() if req_body is not None else None
        request = MockRequest(
            server,
            method,
            ex["path"],
            args={k: v for k, v in _query(ex.get("query"))},
            headers={"Authorization": "Bearer validator"},
            data=req_data,
            content_type=req_ctype,
        )
        status = int(ex["status"])
        if req_body is not None and 200 <= status < 300:
            requests += 1
            try:
                api.validate_request(request)
            except Exception as e:  # noqa: BLE001 - report every kind of failure
                failures.append(f"{label}: request: {describe(e)}")
        body = ex.get("response_body")
        responses += 1
        if 200 <= status < 300:
            ctype = ex.get("response_content_type") or "application/json"
            data = (body or "").encode()
            if "json" not in ctype:
                # A binary answer (`type: string, format: binary`): any bytes qualify, and
                # recorders may leave them out, so only status and content type are checked.
                data = b"binary"
            resp = MockResponse(
                data,
                status_code=status,
                content_type=ex.get("response_content_type") or "application/json",
                headers=ex.get("response_headers") or {},
            )
            try:
                api.validate_response(request, resp)
            except Exception as e:  # noqa: BLE001
                failures.append(f"{label}: response: {describe(e)}")
        else:
            try:
                jsonschema.validate(json.loads(body or "null"), error_shape)
            except Exception as e:  # noqa: BLE001
                failures.append(f"{label}: error body: {e}")

    for f_ in failures:
        print("FAIL", f_)
    fixes = ", ".join(args.fix) or "none"
    print(f"validated {responses} responses and {requests} request bodies; {len(failures)} failures; spec fixes: {fixes}")
    sys.exit(1 if failures else 0)


def _query(q):
    if not q:
        return []
    from urllib.parse import parse_qsl

    return parse_qsl(q, keep_blank_values=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks a simulator's record of the wire against a vendor's OpenAPI 3.0 description (openapi-core).

Input: the simulator's request log as JSON Lines (`RequestLog::write_jsonl` with body capture on),
one request per line:
  {"seq": 0, "method": "POST", "path": "/contacts", "query": "limit=2" | null, "status": 201,
   "had_authorization": true, "fault": null,
   "request_content_type": "application/json" | "multipart/form-data; boundary=…" | null,
   "request_body": "<text as sent>" | null, "request_body_base64": "<bytes as sent>" | null,
   "response_content_type": "application/json" | null, "body": "<JSON answer>" | null,
   "expect": "invalid" | null, …}

Every line is checked, whatever its method or answer:
  - the request: the operation its method and path match (static segments win), its path and
    query parameters, its security (the Authorization header is sent to openapi-core only when
    the request carried one) and its body. A multipart/form-data body is parsed here from the
    bytes as sent (Python's own MIME parser, not the simulator's); its fields become JSON
    (`sender[handle]` -> {"sender": {"handle": …}}, `to[0]` -> a list), typed by the operation's
    JSON schema (the spec declares only JSON bodies for operations it documents multipart for),
    and every file part must sit under a property the schema declares as `format: binary`.
    A request marked `expect: invalid` (a negative test) must be refused by the spec AND answered
    with an error; any other request must validate;
  - the answer: when the operation declares its status (exactly, as `4XX`, or `default`) with a
    body, openapi-core validates status, content type and body; a declared status without a body
    must come without one (or, for an error, with the vendor's error body); an undeclared 2xx or
    3xx fails; an undeclared error (the vendor declares few) must be JSON of the vendor's error
    shape (--error-shape), whose status field, when the shape names one, equals the HTTP status.
    A binary answer (`format: binary`) is checked for status and content type only.

Known spec defects the caller may opt into correcting (--fix), each printed in the summary:
  nullable-ref  `{"$ref": X, "nullable": true}` is read as "X or null": OpenAPI 3.0 ignores
                siblings of $ref, yet the authors clearly mean nullable (Front's
                ConversationResponse.assignee and .recipient, which are null when unassigned).
  null-described  a property whose description says "set it to null" is nullable (Front's
                UpdateConversation.assignee_id and UpdateConversationAssignee.assignee_id say
                "Set it to null to unassign" but are typed as plain strings).
  undeclared-path-params  a path parameter the template names but the operation does not
                declare is declared as a string (Intercom 2.14's
                /export/reporting_data/{job_identifier}), which openapi-core otherwise refuses
                to load.
  example-formats  a `format: uuid` whose own example is no UUID is dropped (Intercom's
                24-hex-digit contact ids).
  data-attribute-model  a data attribute's `model` may be any model GET /data_attributes
                lists by (Intercom's `conversation`).
  custom-attribute-values  a `custom_attributes` map may hold numbers and booleans (Intercom's
                own example of a conversation's holds both; company attributes are typed
                integer, float and boolean too).
  overlapping-oneof  the `oneOf` of Intercom's POST /tags body is read as `anyOf` (no branch
                excludes another's properties:
                a body tagging companies, `{name, companies}`, is a create_or_update_tag_request,
                a tag_company_request and an untag_company_request at once).

The summary line counts what was covered: responses, requests, GETs, error answers, multipart
bodies, and deliberately invalid requests refused.

Exit status: 0 when every line validates, 1 when any fails, 2 on bad input.
"""

import argparse
import base64
import copy
import email.parser
import email.policy
import json
import re
import sys
from urllib.parse import parse_qsl

try:
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest, MockResponse
    import jsonschema
except ImportError as e:  # pragma: no cover
    print(f"python venv missing: run tests/run ({e})", file=sys.stderr)
    sys.exit(2)

# The error body each vendor sends, and where it repeats the HTTP status (if it does).
ERROR_SHAPES = {
    "front": {
        "schema": {
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
        "status_field": ["_error", "status"],
    },
    "intercom": {
        "schema": {
            "type": "object",
            "required": ["type", "errors"],
            "properties": {
                "type": {"enum": ["error.list"]},
                "request_id": {"type": ["string", "null"]},
                "errors": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["code"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        },
        "status_field": None,
    },
    "any": {"schema": {}, "status_field": None},
}

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


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
        props = node.get("properties")
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


def fix_undeclared_path_params(spec):
    """Declares, as strings, path parameters a template names but its operation leaves out
    (Intercom's /export/reporting_data/{job_identifier} in 2.14)."""
    for template, item in spec.get("paths", {}).items():
        names = re.findall(r"{([^}]+)}", template)
        shared = [resolve(spec, p) for p in item.get("parameters", [])]
        for method, op in item.items():
            if method not in METHODS or not isinstance(op, dict):
                continue
            declared = {p.get("name") for p in shared + [resolve(spec, x) for x in op.get("parameters", [])] if p.get("in") == "path"}
            for n in names:
                if n not in declared:
                    op.setdefault("parameters", []).append(
                        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}})


UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def fix_example_formats(node):
    """Drops `format: uuid` where the property's own example is no UUID (Intercom types its
    24-hex-digit contact ids, `from.id` in POST /conversations, as UUIDs)."""
    if isinstance(node, dict):
        ex = node.get("example")
        if node.get("format") == "uuid" and isinstance(ex, str) and not UUID.match(ex):
            del node["format"]
        for v in node.values():
            fix_example_formats(v)
    elif isinstance(node, list):
        for v in node:
            fix_example_formats(v)


def fix_data_attribute_model(spec):
    """Adds to the data attribute's `model` enum the models GET /data_attributes lists by its
    own `model` parameter (Intercom lists `conversation` attributes, yet types an attribute's
    model as contact or company only)."""
    op = spec.get("paths", {}).get("/data_attributes", {}).get("get", {})
    listed = []
    for p in op.get("parameters", []):
        p = resolve(spec, p)
        if p.get("name") == "model":
            listed = p.get("schema", {}).get("enum", [])
    model = spec.get("components", {}).get("schemas", {}).get("data_attribute", {}).get("properties", {}).get("model")
    if isinstance(model, dict) and "enum" in model:
        model["enum"] = list(dict.fromkeys(model["enum"] + listed))


def fix_custom_attribute_values(node):
    """Lets a `custom_attributes` map hold numbers and booleans too (Intercom types a
    conversation's as strings, integers, datetimes or object lists, yet its own example holds
    `paid_subscriber: true` and `monthly_spend: 155.5`; a company's as strings only, yet company
    data attributes are typed integer, float and boolean as well)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "custom_attributes" and isinstance(v, dict) and isinstance(v.get("additionalProperties"), dict):
                v["additionalProperties"] = {"anyOf": [v["additionalProperties"], {"type": "number"}, {"type": "boolean"}]}
            fix_custom_attribute_values(v)
    elif isinstance(node, list):
        for v in node:
            fix_custom_attribute_values(v)


def fix_overlapping_oneof(spec):
    """Reads a request body's `oneOf` as `anyOf` (Intercom's POST /tags: its branches require
    `name`, `name` + `companies` and `name` + `companies` again, none excludes the others'
    properties, so a body tagging companies matches three of them and `oneOf` refuses it)."""
    op = spec.get("paths", {}).get("/tags", {}).get("post", {})
    body = op.get("requestBody", {})
    for media in body.get("content", {}).values() if isinstance(body, dict) else []:
        schema = media.get("schema", {})
        if isinstance(schema, dict) and "oneOf" in schema:
            schema["anyOf"] = schema.pop("oneOf")


FIXES = {"nullable-ref": fix_nullable_ref, "null-described": fix_null_described,
         "undeclared-path-params": fix_undeclared_path_params,
         "example-formats": fix_example_formats, "data-attribute-model": fix_data_attribute_model,
         "custom-attribute-values": fix_custom_attribute_values,
         "overlapping-oneof": fix_overlapping_oneof}


def resolve(spec, schema):
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 50:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema, seen = node, seen + 1
    return schema if isinstance(schema, dict) else {}


def operation(spec, method, path):
    """The operation `method path` matches (static segments beat parameters), or None."""
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
    return None if best is None else best[1]


def declared_response(spec, op, status):
    """The response `op` declares for `status` (exact, range, default), resolved; or None."""
    responses = op.get("responses", {})
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return resolve(spec, responses[key])
    return None


def schema_props(spec, schema):
    """Every property a (possibly composed) object schema declares, resolved."""
    schema = resolve(spec, schema)
    props = {}
    for part in schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", []):
        props.update(schema_props(spec, part))
    props.update({k: resolve(spec, v) for k, v in schema.get("properties", {}).items()})
    return props


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


FIELD = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def assign(root, name, value):
    """Puts a form field (`a[b][0]`, `c[]`) into nested JSON; False for a malformed name."""
    m = FIELD.match(name)
    if not m:
        return False
    keys = [m.group(1)] + re.findall(r"\[([^\[\]]*)\]", m.group(2))
    node = root
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        nxt = None if last else keys[i + 1]
        empty = {} if nxt is not None and not (nxt == "" or nxt.isdigit()) else []
        if isinstance(node, list):
            if key == "":
                node.append(value if last else empty)
                node = node[-1]
                continue
            if not key.isdigit():
                return False
            idx = int(key)
            while len(node) <= idx:
                node.append(None)
            if last:
                node[idx] = value
            elif node[idx] is None:
                node[idx] = empty
            node = node[idx]
        else:
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, empty)
    return True


def parse_multipart(ctype, raw):
    """(fields as nested JSON, file part names, problems) of a multipart body as sent."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
    )
    if not msg.is_multipart():
        return {}, [], ["not a multipart body"]
    fields, files, problems = {}, [], []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            problems.append("a part without a name")
            continue
        if part.get_filename() is not None:
            files.append(name)
            # A placeholder the binary string schema accepts; the bytes are not the spec's.
            ok = assign(fields, name, "<file>")
        else:
            text = part.get_payload(decode=True).decode("utf-8", "replace")
            ok = assign(fields, name, text)
        if not ok:
            problems.append(f"field name {name!r} is not a form property")
    return fields, files, problems


def file_problems(spec, schema, files):
    """File parts whose property the schema does not declare as an array or string of binary."""
    props = schema_props(spec, schema) if schema is not None else {}
    out = []
    for name in files:
        prop = resolve(spec, props.get(name.split("[", 1)[0], {}))
        leaf = resolve(spec, prop.get("items", {})) if prop.get("type") == "array" else prop
        if leaf.get("format") != "binary":
            out.append(f"file part {name!r}: the operation declares no binary property for it")
    return out


def describe(exc):
    """The schema errors first (short, on the FAIL line itself), then the exception with the
    value it refused (long, cut at 4,000 characters)."""
    parts = []
    cause = exc.__cause__
    while cause is not None:
        errs = getattr(cause, "schema_errors", None)
        if errs:
            parts.extend(f"{getattr(e, 'json_path', '')}: {e.message}" for e in errs)
        else:
            parts.append(f"caused by: {cause}")
        cause = cause.__cause__
    return " | ".join(parts + [str(exc)])[:4000]


class Checker:
    def __init__(self, spec, error_shape):
        self.spec = spec
        self.api = OpenAPI.from_dict(spec)
        self.server = spec.get("servers", [{"url": "http://localhost"}])[0]["url"].rstrip("/")
        self.shape = ERROR_SHAPES[error_shape]
        self.counts = {"responses": 0, "requests": 0, "gets": 0, "errors": 0, "multipart": 0,
                       "refused_invalid": 0}

    def request_body(self, ex, op, method):
        """(bytes, content type, problems) of the request body as openapi-core should see it."""
        ctype = ex.get("request_content_type") or ""
        if ex.get("request_body_base64") is not None:
            raw = base64.b64decode(ex["request_body_base64"])
        elif ex.get("request_body") is not None:
            raw = ex["request_body"].encode()
        else:
            return None, "application/json", []
        if not ctype.lower().startswith("multipart/form-data"):
            return raw, ctype or "application/octet-stream", []
        self.counts["multipart"] += 1
        fields, files, problems = parse_multipart(ctype, raw)
        body = resolve(self.spec, (op or {}).get("requestBody", {}))
        schema = body.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            # Nothing to type the fields by: let openapi-core judge the form as sent.
            return raw, ctype, problems
        problems += file_problems(self.spec, schema, files)
        return json.dumps(coerce_form(self.spec, schema, fields)).encode(), "application/json", problems

    def check_request(self, ex, op, method):
        """Problems of the request, [] when it conforms."""
        if op is None:
            return [f"no operation in the spec for {method.upper()} {ex['path']}"]
        data, ctype, problems = self.request_body(ex, op, method)
        headers = {"Authorization": "Bearer validator"} if ex.get("had_authorization", True) else {}
        request = MockRequest(self.server, method, ex["path"],
                              args=dict(parse_qsl(ex.get("query") or "", keep_blank_values=True)),
                              headers=headers, data=data, content_type=ctype)
        try:
            self.api.validate_request(request)
        except Exception as e:  # noqa: BLE001 - report every kind of failure
            problems.append(describe(e))
        return problems

    def error_body(self, ex, status):
        """Problems of an error answer against the vendor's error shape."""
        ctype = ex.get("response_content_type") or ""
        if "json" not in ctype:
            return [f"error answer of type {ctype or 'none'}, not the vendor's JSON error"]
        try:
            body = json.loads(ex.get("body") or "null")
            jsonschema.validate(body, self.shape["schema"])
        except Exception as e:  # noqa: BLE001
            return [f"error body: {str(e)[:800]}"]
        path = self.shape["status_field"]
        if path:
            node = body
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            if node != status:
                return [f"error body says status {node!r}, the answer is {status}"]
        return []

    def check_response(self, ex, op, method):
        status = int(ex["status"])
        if status >= 400:
            self.counts["errors"] += 1
        declared = declared_response(self.spec, op, status) if op is not None else None
        if declared is None:
            if status >= 400:
                return self.error_body(ex, status)
            return [f"status {status} is not declared for this operation"]
        content = declared.get("content") or {}
        if not content:
            if status >= 400:
                return self.error_body(ex, status)
            if ex.get("body"):
                return [f"status {status} is declared without a body, yet one came"]
            return []
        ctype = ex.get("response_content_type") or "application/json"
        data = (ex.get("body") or "").encode()
        if "json" not in ctype:
            # A binary answer (`type: string, format: binary`): any bytes qualify, and the log
            # keeps none, so only status and content type are checked.
            data = b"binary"
        request = MockRequest(self.server, method, ex["path"],
                              args=dict(parse_qsl(ex.get("query") or "", keep_blank_values=True)),
                              headers={"Authorization": "Bearer validator"})
        try:
            self.api.validate_response(request, MockResponse(data, status_code=status, content_type=ctype))
        except Exception as e:  # noqa: BLE001
            return [describe(e)]
        return []

    def check(self, ex):
        """Every problem of one line, labelled."""
        method = ex["method"].lower()
        if method not in METHODS:
            return [f"unknown method {ex['method']}"]
        op = operation(self.spec, method, ex["path"])
        status = int(ex["status"])
        self.counts["requests"] += 1
        self.counts["responses"] += 1
        if method == "get":
            self.counts["gets"] += 1
        failures = []
        request = self.check_request(ex, op, method)
        if ex.get("expect") == "invalid":
            if not request:
                failures.append("request: marked invalid, yet the spec allows it")
            elif status < 400:
                failures.append(f"request: the spec refuses it, yet it was answered {status}:\n"
                                + "\n".join(request))
            else:
                self.counts["refused_invalid"] += 1
        elif request:
            failures.append("request: " + "\n".join(request))
        failures += [f"response: {p}" for p in self.check_response(ex, op, method)]
        return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--exchanges", required=True, help="the request log, JSON Lines")
    ap.add_argument("--fix", action="append", default=[], choices=sorted(FIXES))
    ap.add_argument("--error-shape", default="any", choices=sorted(ERROR_SHAPES))
    args = ap.parse_args()

    with open(args.spec, encoding="utf-8") as f:
        if args.spec.endswith((".yaml", ".yml")):
            # Intercom publishes YAML.
            import yaml
            spec = copy.deepcopy(yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        else:
            spec = copy.deepcopy(json.load(f))
    for name in args.fix:
        FIXES[name](spec)
    checker = Checker(spec, args.error_shape)

    with open(args.exchanges, encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    if not lines:
        print("no exchanges to validate", file=sys.stderr)
        sys.exit(2)
    failures = []
    for n, line in enumerate(lines, 1):
        ex = json.loads(line)
        label = f"#{ex.get('seq', n)} {ex['method'].upper()} {ex['path']} -> {ex['status']}"
        failures += [f"{label}: {p}" for p in checker.check(ex)]

    for f_ in failures:
        print("FAIL", f_)
    c = checker.counts
    fixes = ", ".join(args.fix) or "none"
    print(
        f"validated {c['responses']} responses and {c['requests']} requests "
        f"({c['gets']} GETs, {c['errors']} answered with an error, {c['multipart']} multipart, "
        f"{c['refused_invalid']} invalid on purpose and refused); {len(failures)} failures; "
        f"spec fixes: {fixes}"
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Validates the simulated Zendesk's answers against Zendesk's own OpenAPI descriptions.

Input: the simulator's request log as JSON Lines (`RequestLog::write_jsonl`), one request per line:
  {"seq": 0, "method": "GET", "path": "/api/v2/tickets/1/comments", "route": "...",
   "query": "page%5Bsize%5D=2" | null, "status": 200, "bucket": "account",
   "rate_limited": false, "fault": null, "had_authorization": true, "body": "<JSON text>" | null}

Per line:
  - an injected fault is skipped (its body is the fault's, not the endpoint's);
  - a line without a captured body (non-JSON: redirects, CDN bytes) is skipped and counted;
  - a 2xx answer: the path must match an operation of the Support spec (or, for
    /api/v2/help_center/..., the Help Center spec); the body must validate against that
    operation's response schema (OpenAPI 3.0 semantics, read direction, via
    openapi-schema-validator with $refs resolved in the whole document);
  - any other answer: the body must have Zendesk's error shape {"error": ..., "description"?: str}.

Known defects of the saved specs, corrected before validating (each is printed in the summary;
see PROVENANCE.md beside the spec files, and docs/architecture.md, "Vendor OpenAPI files"):
  yaml-value-key   keys written `=` are YAML's value tag; loaded as the plain string "=".
  deleted-status   the ticket `status` enum lacks "deleted", which the incremental ticket export
                   sends for deleted tickets (documented under "Excluding deleted tickets").
  null-field-value custom field values (`custom_fields[].value`, `fields[].value`) are null for
                   unset fields in every real answer, yet the spec's oneOf has no null.
  nullable-enum    `priority` and `type` say `nullable: true` but their enums omit null, which
                   OpenAPI 3.0.3 requires for null to pass; the authors' intent (and every real
                   ticket without a priority) is null, so null is added to such enums.
  org-field-types  OrganizationObject.organization_fields values allow only string or number,
                   yet checkbox fields hold booleans, multi-select fields arrays and unset ones
                   null (the same as `user_fields`, which the spec leaves open).
  user-nullables   UserForAdmin.email (users without email) and .default_group_id (end users),
                   and deleted_users[].email / .organization_id, are null in real answers but
                   typed non-null.
  ticket-events    the ticket_events item schema describes metric events; comment child events
                   (`child_events[]` with type Comment) are checked against the spec's
                   TicketCommentObject instead, so comment events are not left unchecked. A
                   child event's `via` may be a label string (`"Web form"`, beside
                   `via_reference_id`) instead of the object: recorded answers of a real account
                   show it (the answer pasted in the public Java client
                   aladingg/zendesk-java-client, ChildEvent.java); such a `via` is counted and
                   left out of the comparison, the rest of the event is checked.
  failed-no-id     FailedResult (a job's result for a record that failed) requires an integer
                   `id`, which a record that could not be created does not have: its `id` is
                   allowed to be null (the simulator sends null and the record's `index`).

Exit status: 0 when everything validates, 1 on any failure, 2 on bad input or a missing venv.
"""

import argparse
import json
import os
import re
import sys

try:
    import yaml
    from openapi_schema_validator import OAS30ReadValidator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4
except ImportError as e:  # pragma: no cover
    print(f"python venv missing: run tests/run ({e})", file=sys.stderr)
    sys.exit(2)

FIXES = ["yaml-value-key", "deleted-status", "null-field-value", "nullable-enum", "org-field-types", "user-nullables", "ticket-events", "failed-no-id"]
NULL = {"type": "string", "nullable": True, "enum": [None]}
STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]


def load_yaml(path):
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(loader):  # noqa: D401 - a private subclass so the constructor stays local
        pass

    Loader.add_constructor("tag:yaml.org,2002:value", lambda l, n: l.construct_scalar(n))
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=Loader)


def walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for v in list(node.values()):
            walk(v, fn)
    elif isinstance(node, list):
        for v in node:
            walk(v, fn)


def fix_spec(spec):
    def deleted_status(node):
        props = node.get("properties")
        if isinstance(props, dict):
            st = props.get("status")
            if isinstance(st, dict) and st.get("enum") == STATUSES:
                st["enum"] = STATUSES + ["deleted"]

    def null_field_value(node):
        props = node.get("properties")
        if isinstance(props, dict):
            for key in ("custom_fields", "fields"):
                arr = props.get(key)
                if isinstance(arr, dict) and isinstance(arr.get("items"), dict):
                    items = arr["items"]
                    if "$ref" in items:
                        items = spec["components"]["schemas"][items["$ref"].split("/")[-1]]
                    item_props = items.get("properties", {})
                    if "value" in item_props and isinstance(item_props["value"], dict) and "anyOf" not in item_props["value"]:
                        # `nullable` beside oneOf does not reach the branches: add a null branch.
                        item_props["value"] = {"anyOf": [item_props["value"], NULL]}

    def org_field_types(node):
        props = node.get("properties")
        if isinstance(props, dict):
            of = props.get("organization_fields")
            if isinstance(of, dict) and of.get("type") == "object" and isinstance(of.get("additionalProperties"), dict):
                of["additionalProperties"] = True

    walk(spec, deleted_status)
    walk(spec, null_field_value)
    walk(spec, org_field_types)

    def nullable_enum(node):
        if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = node["enum"] + [None]

    walk(spec, nullable_enum)
    admin = spec.get("components", {}).get("schemas", {}).get("UserForAdmin")
    if admin:
        for key in ("email", "default_group_id"):
            if key in admin.get("properties", {}):
                admin["properties"][key]["nullable"] = True
    deleted = spec.get("paths", {}).get("/api/v2/deleted_users", {}).get("get")
    if deleted:

        def deleted_user_nullables(node):
            props = node.get("properties")
            if isinstance(props, dict) and "deleted_users" in props:
                items = props["deleted_users"].get("items", {})
                if "$ref" in items:
                    items = spec["components"]["schemas"][items["$ref"].split("/")[-1]]
                for key in ("email", "organization_id"):
                    if key in items.get("properties", {}):
                        items["properties"][key]["nullable"] = True

        walk(spec["components"], deleted_user_nullables)
        walk(deleted, deleted_user_nullables)
    failed = spec.get("components", {}).get("schemas", {}).get("FailedResult")
    if failed and "id" in failed.get("properties", {}):
        failed["properties"]["id"]["nullable"] = True
    return spec


def escape(s):
    return s.replace("~", "~0").replace("/", "~1")


class Spec:
    def __init__(self, doc, uri):
        self.doc = doc
        self.uri = uri
        self.registry = Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT4))
        self.paths = []
        for p in doc.get("paths", {}):
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"
            statics = len(re.sub(r"\{[^}]+\}", "", p))
            self.paths.append((statics, p, re.compile(pattern)))
        # Prefer the template with the most literal text (`/tickets/count` over `/tickets/{id}`).
        self.paths.sort(key=lambda x: -x[0])

    def match(self, path):
        for _, template, rx in self.paths:
            if rx.match(path):
                return template
        return None

    def validator(self, pointer):
        return OAS30ReadValidator({"$ref": f"{self.uri}#{pointer}"}, registry=self.registry)

    def response_pointer(self, template, method, status):
        op = self.doc["paths"][template].get(method)
        if op is None:
            return None, f"spec has no {method.upper()} {template}"
        responses = op.get("responses", {})
        code = str(status) if str(status) in responses else ("default" if "default" in responses else None)
        if code is None:
            return None, f"spec declares no {status} answer for {method.upper()} {template}"
        resp = responses[code]
        base = f"/paths/{escape(template)}/{method}/responses/{code}"
        if "$ref" in resp:
            name = resp["$ref"].split("/")[-1]
            resp = self.doc["components"]["responses"][name]
            base = f"/components/responses/{escape(name)}"
        if "application/json" not in resp.get("content", {}):
            return None, f"spec declares no JSON body for {status} of {template}"
        return f"{base}/content/application~1json/schema", None


ERROR_SHAPE = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": ["string", "object"]}, "description": {"type": "string"}},
}


def errors_of(validator, value, limit=5):
    out = []
    for err in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))[:limit]:
        where = "$" + "".join(f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in err.absolute_path)
        msg = err.message
        if len(msg) > 300:
            msg = msg[:300] + "…"
        # anyOf/oneOf failures hide the real reason one level down.
        ctx = sorted(err.context or [], key=lambda e: len(list(e.absolute_path)), reverse=True)[:3]
        detail = "; ".join(
            f"{'/'.join(str(p) for p in c.absolute_path)}: {c.message[:160]}" for c in ctx
        )
        out.append(f"{where}: {msg}" + (f" [{detail}]" if detail else ""))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", required=True, help="request log, JSON Lines")
    ap.add_argument("--specs", default=None, help="directory with the two Zendesk YAML files")
    args = ap.parse_args()
    specs_dir = args.specs or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "specs", "zendesk")
    if not os.path.isdir(specs_dir):
        sys.exit(f"Zendesk OpenAPI files not found in {specs_dir}: pass --specs DIR (the suite passes $DESKFERRY_SPECS/zendesk)")
    support = Spec(fix_spec(load_yaml(os.path.join(specs_dir, "zendesk-support-ticketing-oas.yaml"))), "urn:zendesk-support")
    hc = Spec(fix_spec(load_yaml(os.path.join(specs_dir, "zendesk-help-center-oas.yaml"))), "urn:zendesk-help-center")
    comment_validator = support.validator("/components/schemas/TicketCommentObject")
    import jsonschema

    with open(args.log, encoding="utf-8") as f:
        lines = [json.loads(l) for l in f if l.strip()]
    if not lines:
        print("no requests to validate", file=sys.stderr)
        sys.exit(2)

    failures, validated, skipped, errors_checked, comment_events, label_vias = [], 0, 0, 0, 0, 0
    operations = set()
    for ex in lines:
        label = f"#{ex['seq']} {ex['method']} {ex['path']}{'?' + ex['query'] if ex.get('query') else ''} -> {ex['status']}"
        if ex.get("fault") or ex.get("body") is None:
            skipped += 1
            continue
        try:
            body = json.loads(ex["body"])
        except ValueError as e:
            failures.append(f"{label}: body is not JSON ({e})")
            continue
        status = int(ex["status"])
        if not 200 <= status < 300:
            errors_checked += 1
            try:
                jsonschema.validate(body, ERROR_SHAPE)
            except jsonschema.ValidationError as e:
                failures.append(f"{label}: error body: {e.message}")
            continue
        spec = hc if ex["path"].startswith("/api/v2/help_center/") else support
        template = spec.match(ex["path"])
        if template is None:
            failures.append(f"{label}: no operation in the spec matches this path")
            continue
        pointer, why = spec.response_pointer(template, ex["method"].lower(), status)
        if pointer is None:
            failures.append(f"{label}: {why}")
            continue
        operations.add(f"{ex['method']} {template}")
        errs = errors_of(spec.validator(pointer), body)
        if template == "/api/v2/incremental/ticket_events":
            for i, event in enumerate(body.get("ticket_events", [])):
                for j, child in enumerate(event.get("child_events", [])):
                    if child.get("type") == "Comment":
                        comment_events += 1
                        if isinstance(child.get("via"), str):
                            label_vias += 1
                            child = {k: v for k, v in child.items() if k != "via"}
                        errs += [f"ticket_events[{i}].child_events[{j}] {m}" for m in errors_of(comment_validator, child, 2)]
        validated += 1
        for m in errs:
            failures.append(f"{label}: {m}")

    for f_ in failures:
        print("FAIL", f_)
    print(f"operations: {', '.join(sorted(operations))}")
    print(
        f"validated {validated} responses ({comment_events} comment events, {label_vias} with a label `via`), {errors_checked} error bodies, "
        f"skipped {skipped}; {len(failures)} failures; spec fixes: {', '.join(FIXES)}"
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

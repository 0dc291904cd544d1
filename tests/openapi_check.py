#!/usr/bin/env python3
"""tests/openapi_check.py - the half of tests/openapi_test.c that reads
spec/openapi.yaml (python3-yaml).

  openapi_check.py plan SPEC ROUTES PLAN
      ROUTES: the server's route table as JSON, [{"method","path"}] in table
      order (ent_api_builtin_routes). Fails, naming each one, for a route
      the document lacks and for an operation the table lacks; otherwise
      writes PLAN: per route, its path parameters, its query parameters
      with their examples, the example body and the methods of its path,
      for the C side to drive.

  openapi_check.py check SPEC RESULTS
      RESULTS: [{"kind","method","path","url","status","content_type",
      "allow","body","param"}], the answers the C side got. Every status must be
      documented for its operation (a 405 must list exactly the documented
      methods in Allow), every error body must match the Error schema and
      every 2xx JSON body its documented schema, a 400 for a bad path
      parameter must name it in "field", and no documented query
      parameter with its example may be refused (400).

Exit status 0 when all is well, 1 with one line per problem otherwise.
"""
import json
import re
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError("external $ref %s" % ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def operations(spec):
    """{(METHOD, path): (operation, path item)}"""
    ops = {}
    for path, item in spec.get("paths", {}).items():
        for m in METHODS:
            if m in item:
                ops[(m.upper(), path)] = (item[m], item)
    return ops


def params_of(spec, op, item):
    names = set()
    for p in list(item.get("parameters", [])) + list(op.get("parameters", [])):
        p = resolve(spec, p)
        if p.get("in") == "path":
            names.add(p["name"])
    return names


# ---- a small JSON Schema (2020-12 subset) checker ----------------------------

def type_ok(t, v):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    raise ValueError("unknown type %s" % t)


def validate(spec, schema, v, where, errs):
    schema = resolve(spec, schema)
    if schema is True or schema == {}:
        return
    if schema is False:
        errs.append("%s: not allowed" % where)
        return
    if "type" in schema:
        ts = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(type_ok(t, v) for t in ts):
            errs.append("%s: %r is not of type %s" % (where, v, "|".join(ts)))
            return
    if "const" in schema and v != schema["const"]:
        errs.append("%s: %r is not %r" % (where, v, schema["const"]))
    if "enum" in schema and v not in schema["enum"]:
        errs.append("%s: %r not in %r" % (where, v, schema["enum"]))
    if isinstance(v, str):
        if "pattern" in schema and not re.search(schema["pattern"], v):
            errs.append("%s: %r does not match %s" % (where, v, schema["pattern"]))
        if len(v) < schema.get("minLength", 0):
            errs.append("%s: %r too short" % (where, v))
        if "maxLength" in schema and len(v) > schema["maxLength"]:
            errs.append("%s: too long" % where)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in schema and v < schema["minimum"]:
            errs.append("%s: %r < %r" % (where, v, schema["minimum"]))
        if "maximum" in schema and v > schema["maximum"]:
            errs.append("%s: %r > %r" % (where, v, schema["maximum"]))
    if isinstance(v, list):
        if len(v) < schema.get("minItems", 0):
            errs.append("%s: too few items" % where)
        if "maxItems" in schema and len(v) > schema["maxItems"]:
            errs.append("%s: too many items" % where)
        if "items" in schema:
            for i, x in enumerate(v):
                validate(spec, schema["items"], x, "%s[%d]" % (where, i), errs)
    if isinstance(v, dict):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in v:
                errs.append("%s: missing %r" % (where, k))
        if len(v) < schema.get("minProperties", 0):
            errs.append("%s: too few members" % where)
        for k, x in v.items():
            if k in props:
                validate(spec, props[k], x, "%s.%s" % (where, k), errs)
            elif "additionalProperties" in schema:
                validate(spec, schema["additionalProperties"], x,
                         "%s.%s" % (where, k), errs)
    for sub in schema.get("allOf", []):
        validate(spec, sub, v, where, errs)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            n = 0
            for sub in schema[key]:
                e = []
                validate(spec, sub, v, where, e)
                n += not e
            if n == 0 or (key == "oneOf" and n > 1):
                errs.append("%s: %r matches %d of %s" % (where, v, n, key))


def structure(spec):
    """What a reader of the document relies on: every $ref resolves, every
    operation has a unique operationId and responses, every path parameter
    is required, every tag is declared, every security scheme exists."""
    problems = []

    def refs(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    try:
                        resolve(spec, node)
                    except (KeyError, TypeError, ValueError):
                        problems.append("%s: $ref %s does not resolve" % (where, v))
                else:
                    refs(v, where + "/" + str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                refs(v, "%s/%d" % (where, i))

    refs(spec, "#")
    if problems:
        return problems
    ids = {}
    tags = {t["name"] for t in spec.get("tags", [])}
    schemes = set(spec.get("components", {}).get("securitySchemes", {}))
    for req in spec.get("security", []):
        problems += ["security: no scheme %s" % k for k in req if k not in schemes]
    for (m, p), (op, item) in operations(spec).items():
        oid = op.get("operationId")
        if not oid:
            problems.append("%s %s: no operationId" % (m, p))
        elif oid in ids:
            problems.append("%s %s: operationId %s also on %s" % (m, p, oid, ids[oid]))
        else:
            ids[oid] = "%s %s" % (m, p)
        if not op.get("responses"):
            problems.append("%s %s: no responses" % (m, p))
        for t in op.get("tags", []):
            if t not in tags:
                problems.append("%s %s: tag %s is not declared" % (m, p, t))
        for prm in list(item.get("parameters", [])) + list(op.get("parameters", [])):
            prm = resolve(spec, prm)
            if prm.get("in") == "path" and prm.get("required") is not True:
                problems.append("%s %s: path parameter %s is not required"
                                % (m, p, prm.get("name")))
        for req in op.get("security", []):
            problems += ["%s %s: no scheme %s" % (m, p, k) for k in req
                         if k not in schemes]
    return problems


# ---- commands -----------------------------------------------------------------

def plan(spec_path, routes_path, out_path):
    spec = load(spec_path)
    with open(routes_path) as f:
        routes = json.load(f)
    problems = []
    if not str(spec.get("openapi", "")).startswith("3.1"):
        problems.append("spec/openapi.yaml: want openapi: 3.1.x")
    problems += structure(spec)
    ops = operations(spec)
    served = [(r["method"], r["path"]) for r in routes]
    for m, p in served:
        if (m, p) not in ops:
            problems.append("route %s %s (node/api/api.c builtin_routes) is "
                            "not documented in spec/openapi.yaml" % (m, p))
    for m, p in sorted(ops):
        if (m, p) not in served:
            problems.append("spec/openapi.yaml documents %s %s, which the "
                            "server does not have (node/api/api.c "
                            "builtin_routes)" % (m, p))
    out = []
    for m, p in served:
        if (m, p) not in ops:
            continue
        op, item = ops[(m, p)]
        in_path = set(re.findall(r"\{([^}]+)\}", p))
        declared = params_of(spec, op, item)
        if in_path != declared:
            problems.append("%s %s: path parameters %s, documented %s"
                            % (m, p, sorted(in_path), sorted(declared)))
        for code, r in op.get("responses", {}).items():
            r = resolve(spec, r)
            if int(code) >= 400:
                sch = r.get("content", {}).get("application/json", {}).get("schema")
                names = json.dumps(sch)
                if sch is None or "Error" not in names:
                    problems.append("%s %s: response %s does not use the "
                                    "Error schema" % (m, p, code))
        body = None
        rb = resolve(spec, op.get("requestBody", {}))
        if rb:
            media = rb.get("content", {}).get("application/json", {})
            body = media.get("example")
            if body is None:
                problems.append("%s %s: the request body has no example"
                                % (m, p))
            else:
                e = []
                validate(spec, media.get("schema", {}), body, "example", e)
                problems += ["%s %s: %s" % (m, p, x) for x in e]
        query = []
        for prm in list(item.get("parameters", [])) + list(op.get("parameters", [])):
            prm = resolve(spec, prm)
            if prm.get("in") != "query":
                continue
            if "example" not in prm:
                problems.append("%s %s: query parameter %s has no example"
                                % (m, p, prm["name"]))
                continue
            e = []
            validate(spec, prm.get("schema", {}), prm["example"],
                     "query %s example" % prm["name"], e)
            problems += ["%s %s: %s" % (m, p, x) for x in e]
            query.append([prm["name"], str(prm["example"])])
        out.append({"method": m, "path": p, "query": query,
                    "params": sorted(in_path),
                    "body": body, "has_body": bool(rb),
                    "methods": sorted(x for (x, q) in ops if q == p)})
    for x in problems:
        print("openapi: " + x)
    with open(out_path, "w") as f:
        json.dump(out, f)
    return 1 if problems else 0


def check(spec_path, results_path):
    spec = load(spec_path)
    ops = operations(spec)
    with open(results_path) as f:
        results = json.load(f)
    problems = []
    for r in results:
        what = "%s %s (%s %s)" % (r["method"], r["url"], r["kind"], r["path"])
        st = r["status"]
        body = None
        if r["content_type"].startswith("application/json"):
            try:
                body = json.loads(r["body"])
            except ValueError:
                problems.append("%s: body is not JSON: %r" % (what, r["body"][:200]))
                continue
        if st >= 400:
            e = []
            validate(spec, {"$ref": "#/components/schemas/Error"}, body,
                     "error body", e)
            problems += ["%s: %d: %s" % (what, st, x) for x in e]
        if r["kind"] == "badparam" and st == 400 and body is not None:
            field = body.get("error", {}).get("field")
            if field != r["param"]:
                problems.append("%s: 400 names field %r, want %r (the bad "
                                "path parameter)" % (what, field, r["param"]))
        if r["kind"] == "query" and st == 400:
            problems.append("%s: %d: the documented query parameter and its "
                            "example are refused: %s" % (what, st, r["body"][:200]))
        if r["kind"] == "405":
            want = ", ".join(sorted(m for (m, p) in ops if p == r["path"]))
            got = ", ".join(sorted(x.strip() for x in r["allow"].split(",") if x.strip()))
            if st != 405 or got != want:
                problems.append("%s: %d Allow %r, want 405 Allow %r"
                                % (what, st, got, want))
            continue
        op, _ = ops[(r["method"], r["path"])]
        resp = op.get("responses", {}).get(str(st))
        if resp is None:
            problems.append("%s: status %d is not documented (documented: %s)"
                            % (what, st, ", ".join(op.get("responses", {}))))
            continue
        resp = resolve(spec, resp)
        content = resp.get("content", {})
        if 200 <= st < 300:
            if r["content_type"].split(";")[0] not in content:
                problems.append("%s: content type %s not documented"
                                % (what, r["content_type"]))
                continue
            media = content[r["content_type"].split(";")[0]]
            if body is not None and "schema" in media:
                e = []
                validate(spec, media["schema"], body, "body", e)
                problems += ["%s: %d: %s" % (what, st, x) for x in e]
        elif body is not None:
            e = []
            validate(spec, content["application/json"]["schema"], body,
                     "error body", e)
            problems += ["%s: %d: %s" % (what, st, x) for x in e]
    for x in problems:
        print("openapi: " + x)
    return 1 if problems else 0


def main(argv):
    if len(argv) == 5 and argv[1] == "plan":
        return plan(argv[2], argv[3], argv[4])
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

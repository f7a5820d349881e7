#!/usr/bin/python3
"""validate_json.py - checks every JSON document the CLI printed in the unit tests (kept
by tests/unit/cli_fx.h in $XLCP_JSON_SAMPLES) against the documented schema
(libxl-plugin/man/xl-checkpoint-json.schema.json): each must match exactly one kind of
document, and every kind must have been seen (so a subcommand that stops printing its
document, or prints another shape, fails here). Uses Debian's python3-jsonschema.

    validate_json.py SCHEMA DIR
"""
import json
import os
import sys

import jsonschema


def main():
    schema_path, sample_dir = sys.argv[1], sys.argv[2]
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    kinds = [ref["$ref"].rsplit("/", 1)[1] for ref in schema["oneOf"]]
    seen = {k: 0 for k in kinds}
    bad = 0
    files = sorted(os.listdir(sample_dir))
    for name in files:
        with open(os.path.join(sample_dir, name)) as f:
            text = f.read()
        try:
            doc = json.loads(text)
        except ValueError as e:
            print(f"not ok - {name}: not JSON: {e}")
            bad += 1
            continue
        errors = list(validator.iter_errors(doc))
        if errors:
            print(f"not ok - {name}: {errors[0].message[:300]}")
            bad += 1
            continue
        for k in kinds:
            sub = jsonschema.Draft7Validator(
                {"$ref": f"#/definitions/{k}", "definitions": schema["definitions"]})
            if not list(sub.iter_errors(doc)):
                seen[k] += 1
    missing = [k for k, n in seen.items() if n == 0]
    for k in missing:
        print(f"not ok - no document of kind {k} was printed by the unit tests")
    print(f"json documents: {len(files)} checked against the schema, {bad} invalid; "
          + ", ".join(f"{k} {n}" for k, n in seen.items()))
    return 1 if bad or missing or not files else 0


if __name__ == "__main__":
    sys.exit(main())

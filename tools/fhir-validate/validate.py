#!/usr/bin/env python3
"""Strict parse of FHIR R4 JSON with fhirclient (SMART on FHIR models, FHIR 4.0.1).

Every resource is parsed on its own with strict=True, which refuses unknown
elements, wrong JSON types and missing required elements: a Bundle's shell
(entries without their resources) and each entry's resource; NDJSON (*.ndjson)
line by line; any other .json as one resource. Directories are searched for
*.json and *.ndjson.

Usage: python3 validate.py FILE_OR_DIR...
Exit status: 0 when every resource parses, 1 when any does not, 2 on a usage error.
"""
import json
import sys
from pathlib import Path

from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory
from fhirclient.models.bundle import Bundle


def files(args):
    for a in args:
        p = Path(a)
        if p.is_dir():
            yield from sorted(x for x in p.iterdir() if x.suffix in (".json", ".ndjson"))
        else:
            yield p


def check(resource, where, problems):
    if not isinstance(resource, dict):
        problems.append(f"{where}: not a JSON object")
        return
    kind = resource.get("resourceType")
    try:
        if kind == "Bundle":
            Bundle(resource, strict=True)
        else:
            parsed = FHIRElementFactory.instantiate(kind, resource)
            # the factory falls back to a plain Element for a type it does not know
            if type(parsed).__name__ != kind:
                problems.append(f"{where}: unknown resourceType {kind!r}")
    except FHIRValidationError as e:
        problems.append(f"{where} ({kind}/{resource.get('id', '-')}): {' '.join(str(e).split())}")
    except Exception as e:  # fhirclient raises plain errors for some malformed values
        problems.append(f"{where} ({kind}/{resource.get('id', '-')}): {type(e).__name__}: {' '.join(str(e).split())}")


def validate_file(path):
    problems, resources = [], []
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ndjson":
        for i, line in enumerate(text.split("\n")):
            if not line.strip():
                continue
            try:
                resources.append((json.loads(line), f"line {i + 1}"))
            except ValueError as e:
                problems.append(f"line {i + 1}: not JSON: {e}")
    else:
        try:
            doc = json.loads(text)
        except ValueError as e:
            return 0, [f"not JSON: {e}"]
        if isinstance(doc, dict) and doc.get("resourceType") == "Bundle" and isinstance(doc.get("entry"), list):
            shell = dict(doc)
            shell["entry"] = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e for e in doc["entry"]]
            resources.append((shell, "Bundle"))
            for i, e in enumerate(doc["entry"]):
                if isinstance(e, dict) and "resource" in e:
                    resources.append((e["resource"], f"Bundle.entry[{i}].resource"))
        else:
            resources.append((doc, "resource"))
    for r, where in resources:
        check(r, where, problems)
    return len(resources), problems


def main(argv):
    if not argv:
        print("usage: python3 validate.py FILE_OR_DIR...", file=sys.stderr)
        return 2
    bad = 0
    for f in files(argv):
        count, problems = validate_file(f)
        if problems:
            bad += 1
            print(f"INVALID {f}")
            for p in problems[:20]:
                print(f"    {p}")
        else:
            print(f"valid   {f} ({count} resources)")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

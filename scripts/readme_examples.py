#!/usr/bin/env python3
"""Regenerate the per-command examples in README.md from the real binary.

Usage: scripts/readme_examples.py target/release/limbpath > /tmp/examples.md
Each example shows the command and the JSON `result`, with every explanation
except the first reduced to its rule so the page stays readable. Paste the
output between the markers in README.md (a test checks the commands still run).
"""
import json
import subprocess
import sys

EXAMPLES = [
    ("wifi", "classify wifi --wound 2 --ischemia 3 --infection 1"),
    ("wifi", "classify wifi --wound-depth deep --abi 0.52 --toe-pressure 24 --erythema-cm 1.5 --warmth --swelling"),
    ("abi", "classify abi --brachial-left 138 --brachial-right 142 --left-dp 74 --left-pt 62 --left-toe 24"),
    ("glass", "classify glass --fp 3 --ip 1 --im P2"),
    ("rutherford", "classify rutherford --presentation rest-pain --resting-ankle-pressure 35 --toe-pressure 20"),
    ("angiosome", "classify angiosome --location plantar-heel --at treatable --pt untreatable --peroneal treatable --pedal-arch intact"),
    ("ceap", "classify ceap C4b,6r,S,Es,Ad,Pr,o"),
    ("vcss", "classify vcss --pain 2 --varicose-veins 1 --venous-oedema 1 --skin-pigmentation 1 --inflammation 0 --induration 0 --active-ulcer-number 1 --active-ulcer-duration 2 --active-ulcer-size 1 --compression-therapy 2"),
    ("mess", "classify mess --energy 3 --ischaemia 2 --ischaemia-hours 7 --shock 1 --age-years 50"),
    ("iwgdf", "classify iwgdf --warmth --purulence --erythema-cm 3 --deep-infection osteomyelitis"),
    ("wagner", "classify wagner --grade 3"),
    ("texas", "classify texas --depth bone --infection --ischaemia"),
    ("sinbad", "classify sinbad --site midfoot --ischaemia --neuropathy --infection --area-cm2 1.5 --depth deep"),
    ("msts", "classify msts --limb lower --pain 4 --function 3 --emotional-acceptance 4 --supports 3 --walking 3 --gait 2"),
    ("paley", "classify paley --sex male --age-years 4 --type congenital --lld-cm 3"),
    ("oi-candidacy", "classify oi-candidacy --level transfemoral --socket-problem pain --bmi 32 --cooperates yes --understands yes --glucose-controlled yes --smoking never --active-infection no --irradiated-bone no --pregnancy no --mental-instability no"),
]


def shorten(v, state):
    """Keep the document's first explanation whole (it shows the shape every
    explanation has); elide the others; keep at most two items of a list."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "explanation" and isinstance(x, dict):
                if state["first"]:
                    state["first"] = False
                    out[k] = x
                else:
                    out[k] = "…"
            elif k == "modifier_explanation":
                out[k] = "…"
            else:
                out[k] = shorten(x, state)
        return out
    if isinstance(v, list):
        items = [shorten(x, state) for x in v[:2]]
        return items + (["…"] if len(v) > 2 else [])
    return v


def compact(v, indent=0):
    """JSON with one line per key at the top level and compact values below."""
    if not isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False)
    pad = "  " * (indent + 1)
    lines = [f'{pad}"{k}": {json.dumps(x, ensure_ascii=False)}' for k, x in v.items()]
    return "{\n" + ",\n".join(lines) + "\n" + "  " * indent + "}"


def main():
    binary = sys.argv[1]
    for name, args in EXAMPLES:
        argv = [binary] + args.split() + ["--json"]
        doc = json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
        result = shorten(doc["result"], {"first": True})
        print(f"#### `{name}`\n\n```console\n$ limbpath {args} --json\n```\n")
        print("```json\n" + compact(result) + "\n```\n")


if __name__ == "__main__":
    main()

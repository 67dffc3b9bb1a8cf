#!/usr/bin/env python3
"""Write N deterministic, varied limb findings as JSON lines for `limbpath assess --batch`.

Usage: bench/gen_findings.py N [SEED] > findings.jsonl
Every line is valid input; the mix covers every WIfI component from measurements,
pressures for both legs, angiosome locations and the diabetic-foot scores.
"""
import json
import random
import sys

ULCERS = ["none", "shallow", "exposed_bone_distal_phalanx", "deep", "extensive_deep"]
HEELS = ["none", "none", "none", "shallow", "deep"]
GANGRENE = ["none", "none", "digits", "extensive", "heel_necrosis"]
LOCATIONS = ["medial_heel", "plantar_heel", "lateral_heel", "plantar_instep", "lateral_plantar_midfoot",
             "plantar_forefoot", "dorsum", "anterior_ankle", "lateral_malleolus", "dorsal_toes", "plantar_toes"]
STATUS = ["patent", "treatable", "untreatable"]


def findings(rng):
    side = rng.choice(["left", "right"])
    leg = {"dorsalis_pedis_mmhg": rng.randint(20, 180), "posterior_tibial_mmhg": rng.randint(20, 180),
           "toe_pressure_mmhg": rng.randint(5, 110)}
    other = {"dorsalis_pedis_mmhg": rng.randint(60, 180), "posterior_tibial_mmhg": rng.randint(60, 180)}
    f = {
        "side": side,
        "diabetes": rng.random() < 0.6,
        "pressures": {"brachial_left_mmhg": rng.randint(100, 180), "brachial_right_mmhg": rng.randint(100, 180),
                      side: leg, ("right" if side == "left" else "left"): other},
        "wound": {"ulcer": rng.choice(ULCERS), "heel": rng.choice(HEELS), "gangrene": rng.choice(GANGRENE)},
        "infection": {
            "local_swelling_or_induration": rng.random() < 0.4, "erythema_cm": round(rng.uniform(0, 4), 1),
            "local_tenderness_or_pain": rng.random() < 0.4, "local_warmth": rng.random() < 0.4,
            "purulent_discharge": rng.random() < 0.2,
            "deep_involvement": ["osteomyelitis"] if rng.random() < 0.1 else [],
            "sirs": {"temperature_c": round(rng.uniform(35.5, 39.5), 1), "heart_rate_bpm": rng.randint(60, 120),
                     "respiratory_rate_per_min": rng.randint(12, 26), "wbc_per_ul": rng.randint(3000, 18000)},
        },
        "wound_locations": rng.sample(LOCATIONS, rng.randint(1, 2)),
        "arteries": {"anterior_tibial": rng.choice(STATUS), "posterior_tibial": rng.choice(STATUS),
                     "peroneal": rng.choice(STATUS), "pedal_arch": rng.choice(["intact", "absent_or_diseased"])},
    }
    if rng.random() < 0.5:
        f["texas"] = {"depth": rng.choice(["superficial", "tendon_or_capsule", "bone_or_joint"]),
                      "infection": rng.random() < 0.5, "ischaemia": rng.random() < 0.5}
        f["sinbad"] = {"site": rng.choice(["forefoot", "midfoot", "hindfoot"]), "ischaemia": rng.random() < 0.5,
                       "neuropathy": rng.random() < 0.5, "bacterial_infection": rng.random() < 0.5,
                       "area_cm2": round(rng.uniform(0.1, 12), 1),
                       "depth": rng.choice(["skin_or_subcutaneous", "muscle_tendon_or_deeper"])}
    return f


def main():
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 20261121)
    out = sys.stdout
    for _ in range(n):
        out.write(json.dumps(findings(rng), separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()

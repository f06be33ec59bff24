#!/usr/bin/env python3
"""One random roster import step for the property test (tests/integration/test_roster_consistency.c).

Reads base bundles written by scripts/gen_roster_bundle.py --dir (several seeds are merged, so there are several
districts and schools) and writes one zip: a full bulk set, a partial bulk set (some files, rows left out) or a
delta (some rows re-sent active, some tobedeleted). Deterministic for (--seed, --step). Many steps are refused by
the importer (a kept row naming a dropped one); that is part of the property: refused or accepted, the stored
roster stays consistent.
"""
import argparse
import csv
import io
import random
import zipfile

FILES = ["academicSessions", "orgs", "courses", "classes", "users", "demographics", "userProfiles", "roles",
         "enrollments"]
OTHER = ["categories", "classResources", "courseResources", "lineItemLearningObjectiveIds", "lineItemScoreScales",
         "lineItems", "resources", "resultLearningObjectiveIds", "resultScoreScales", "results", "scoreScales",
         "userResources"]


def load(dirs):
    data = {}
    for d in dirs:
        for f in FILES:
            with open(f"{d}/{f}.csv", newline="", encoding="utf-8") as fh:
                rows = list(csv.reader(fh))
            data.setdefault(f, [rows[0]])
            data[f].extend(rows[1:])
    return data


def csv_text(rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerows(rows)
    return out.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="comma-separated directories from gen_roster_bundle.py --dir")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--step", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed * 100003 + a.step)
    data = load(a.base.split(","))
    kind = "full" if a.step == 0 else rng.choice(["full", "partial", "partial", "delta", "delta"])
    modes = {f: "absent" for f in FILES}
    out = {}
    if kind == "full":
        drop = rng.choice([0.0, 0.0, 0.1, 0.3]) if a.step else 0.0
        files = FILES
    else:
        files = rng.sample(FILES, rng.randint(1, 3))
        drop = rng.choice([0.1, 0.3, 0.5])
    for f in files:
        head, rows = data[f][0], data[f][1:]
        if kind == "delta":
            picked = []
            for r in rows:
                x = rng.random()
                if x < 0.15:
                    picked.append([r[0], "tobedeleted", "2026-06-01T00:00:00.000Z"] + [""] * (len(r) - 3))
                elif x < 0.45:
                    picked.append([r[0], "active", "2026-06-01T00:00:00.000Z"] + r[3:])
            modes[f] = "delta"
            out[f] = [head] + picked
        else:
            modes[f] = "bulk"
            out[f] = [head] + [r for r in rows if rng.random() >= drop]
    with zipfile.ZipFile(a.out, "w", zipfile.ZIP_DEFLATED) as z:
        man = [["propertyName", "value"], ["manifest.version", "1.0"], ["oneroster.version", "1.2"]]
        man += [[f"file.{f}", modes[f]] for f in FILES] + [[f"file.{f}", "absent"] for f in OTHER]
        z.writestr("manifest.csv", csv_text(man))
        for f, rows in out.items():
            z.writestr(f"{f}.csv", csv_text(rows))
    print(kind, " ".join(f"{f}:{modes[f]}:{len(out[f]) - 1}" for f in out))


if __name__ == "__main__":
    main()

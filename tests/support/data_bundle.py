#!/usr/bin/env python3
"""Variants of a OneRoster bundle for the dataset tests (tests/integration/test_data_datasets.c).

  data_bundle.py IN.zip OUT.zip --blank-kana N   # the first N pupils lose their kana names
  data_bundle.py IN.zip OUT.zip --tweak           # 3 pupils renamed, 2 removed (with what refers to them), 2 added
"""
import csv
import io
import sys
import uuid
import zipfile


def rows(z, name):
    try:
        text = z.read(name).decode("utf-8")
    except KeyError:
        return None, []
    r = list(csv.reader(io.StringIO(text)))
    return r[0], r[1:]


def dump(header, body):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(body)
    return out.getvalue().encode("utf-8")


def main():
    src, dst, op = sys.argv[1], sys.argv[2], sys.argv[3]
    zin = zipfile.ZipFile(src)
    files = {n: rows(zin, n) for n in zin.namelist() if n.endswith(".csv") and n != "manifest.csv"}
    uh, users = files["users.csv"]
    col = {h: i for i, h in enumerate(uh)}
    pupils = [u for u in users if u[col["username"]].startswith("s")]
    if op == "--blank-kana":
        for u in pupils[:int(sys.argv[4])]:
            u[col["metadata.jp.kanaGivenName"]] = ""
            u[col["metadata.jp.kanaFamilyName"]] = ""
    elif op == "--tweak":
        for u in pupils[:3]:
            u[col["givenName"]] += "改"
        gone = {u[0] for u in pupils[3:5]}
        users[:] = [u for u in users if u[0] not in gone]
        for name, key in (("roles.csv", "userSourcedId"), ("enrollments.csv", "userSourcedId"),
                          ("demographics.csv", "sourcedId"), ("userProfiles.csv", "userSourcedId")):
            h, body = files.get(name, (None, []))
            if h:
                k = h.index(key)
                body[:] = [r for r in body if r[k] not in gone]
        rh, roles = files["roles.csv"]
        eh, enr = files["enrollments.csv"]
        model_role = next(r for r in roles if r[rh.index("role")] == "student")
        model_enr = next(e for e in enr if e[eh.index("role")] == "student")
        for k in range(2):
            u = list(pupils[0])
            u[0] = str(uuid.uuid5(uuid.NAMESPACE_URL, "rstream-data-new-user-%d" % k))
            u[col["username"]] = "snew%d" % k
            u[col["identifier"]] = "SNEW%d" % k
            u[col["userIds"]] = ""
            u[col["userMasterIdentifier"]] = ""
            u[col["givenName"]] = "新%d" % k
            users.append(u)
            r = list(model_role)
            r[0], r[rh.index("userSourcedId")] = str(uuid.uuid5(uuid.NAMESPACE_URL, "rstream-data-new-role-%d" % k)), u[0]
            roles.append(r)
            e = list(model_enr)
            e[0], e[eh.index("userSourcedId")] = str(uuid.uuid5(uuid.NAMESPACE_URL, "rstream-data-new-enr-%d" % k)), u[0]
            e[eh.index("metadata.jp.ShussekiNo")] = ""
            enr.append(e)
    else:
        sys.exit("unknown operation " + op)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.csv", zin.read("manifest.csv"))
        for name, (h, body) in files.items():
            z.writestr(name, dump(h, body))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate OneRoster 1.2 Japan Profile CSV bundles (zip + manifest.csv) for tests, demos and benchmarks.

Japanese names with kana, every rostering file, sizes from tiny to 200,000 users / ~1,000,000 enrollments, plus
broken variants that the importer must refuse. Deterministic for a given --seed.

  gen_roster_bundle.py --users 200 --out demo.zip
  gen_roster_bundle.py --users 200000 --out bench.zip            # ~1,000,000 enrollments
  gen_roster_bundle.py --users 50 --variant delta --out d.zip    # delta after the same-seed bulk
  gen_roster_bundle.py --users 50 --variant sjis --out bad.zip   # see VARIANTS
  gen_roster_bundle.py --users 50 --single users --out users.csv # one loose CSV file
"""
import argparse
import csv
import io
import random
import struct
import sys
import uuid
import zipfile
import zlib

VARIANTS = {
    "clean": "valid bulk bundle",
    "delta": "delta bundle to apply after the clean bundle of the same seed: changed, new and deleted users",
    "rows": "row-level errors: missing required values, bad grade codes, dangling references, duplicate sourcedIds",
    "sjis": "users.csv encoded in Shift_JIS",
    "unterminated": "users.csv with an unterminated quote",
    "bigfield": "users.csv with a 10 MB field",
    "nul": "users.csv whose third row has a sourcedId with a NUL byte in it (nultest\\0-evil-suffix)",
    "dupheader": "users.csv with a duplicated column header",
    "order": "orgs.csv with columns out of order",
    "unknownfile": "manifest.csv lists an unknown file (file.pets)",
    "missingfile": "manifest.csv lists enrollments as bulk but enrollments.csv is missing",
    "extrameta": "valid: users.csv with extra metadata.* columns at the end",
    "warnings": "valid with warnings only: bulk rows carrying status/dateLastModified, upper-case booleans",
    "formula": "valid: names beginning with = + - @ protected with a leading apostrophe",
    "traversal": "zip entry named ../users.csv",
    "absolute": "zip entry named /tmp/users.csv",
    "bomb": "zip with a highly compressed 300 MB entry",
    "truncated": "zip cut in half",
}

FAMILY = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
          ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
          ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
          ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("翔太", "ショウタ"), ("陽菜", "ヒナ"), ("蓮", "レン"),
         ("結衣", "ユイ"), ("大翔", "ヒロト"), ("さくら", "サクラ"), ("悠真", "ユウマ"), ("美咲", "ミサキ"),
         ("健太", "ケンタ"), ("葵", "アオイ"), ("拓海", "タクミ"), ("凛", "リン"), ("颯太", "ソウタ"),
         ("芽依", "メイ"), ("湊", "ミナト"), ("結菜", "ユイナ"), ("陸", "リク"), ("愛子", "アイコ")]

H = {
    "academicSessions": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear",
    "orgs": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "courses": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,"
               "subjectCodes",
    "classes": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
               "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods,metadata.jp.specialNeeds",
    "users": "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,middleName,"
             "identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,preferredGivenName,"
             "preferredMiddleName,preferredFamilyName,primaryOrgSourcedId,pronouns,metadata.jp.kanaGivenName,"
             "metadata.jp.kanaFamilyName,metadata.jp.kanaMiddleName,metadata.jp.homeClass",
    "roles": "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,orgSourcedId,"
             "userProfileSourcedId",
    "userProfiles": "sourcedId,status,dateLastModified,userSourcedId,profileType,vendorId,applicationId,description,"
                    "credentialType,username,password",
    "enrollments": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
                   "beginDate,endDate,metadata.jp.ShussekiNo,metadata.jp.PublicFlg",
    "demographics": "sourcedId,status,dateLastModified,birthDate,sex,americanIndianOrAlaskaNative,asian,"
                    "blackOrAfricanAmerican,nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,"
                    "hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,"
                    "publicSchoolResidenceStatus",
}
ORDER = ["academicSessions", "orgs", "courses", "classes", "users", "roles", "userProfiles", "enrollments",
         "demographics"]
ALL_FILES = ["academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
             "demographics", "enrollments", "lineItemLearningObjectiveIds", "lineItems", "lineItemScoreScales",
             "orgs", "resources", "resultLearningObjectiveIds", "results", "resultScoreScales", "roles",
             "scoreScales", "userProfiles", "userResources", "users"]
DLM = "2026-05-01T09:00:00.000Z"
SUBJECTS = [("国語", "P010"), ("算数", "P030"), ("理科", "P040"), ("社会", "P020")]


class Rows:
    """CSV text for one file, written through csv.writer (CRLF line ends as most SIS exports)."""

    def __init__(self, name, header=None):
        self.name = name
        self.buf = io.StringIO()
        self.w = csv.writer(self.buf, lineterminator="\r\n")
        self.w.writerow((header or H[name]).split(","))
        self.n = 0

    def add(self, row):
        self.w.writerow(row)
        self.n += 1

    def text(self):
        return self.buf.getvalue()


def uid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build(n_users, seed, variant):
    rng = random.Random(seed)
    files = {k: Rows(k) for k in ORDER}
    st, dlm = ("", "")
    if variant == "warnings":
        st, dlm = ("active", DLM)

    year = uid(rng)
    files["academicSessions"].add([year, st, dlm, "2026年度", "schoolYear", "2026-04-01", "2027-03-31", "", "2026"])
    district = uid(rng)
    files["orgs"].add([district, st, dlm, "さくら市教育委員会", "district", "131001", ""])

    per_school = 1000
    n_schools = max(1, (n_users + per_school - 1) // per_school)
    users_left = n_users
    uno = 0
    for s in range(n_schools):
        school = uid(rng)
        files["orgs"].add([school, st, dlm, "さくら市立第%d小学校" % (s + 1), "school",
                           "B1131%08d" % (s + 1), district])
        school_users = min(per_school, users_left)
        users_left -= school_users
        if school_users <= 0:
            break
        n_teachers = max(1, school_users // 20)
        n_students = school_users - n_teachers
        grades = ["P%d" % g for g in range(1, 7)]
        homerooms, scheduled = {}, {}
        for g in grades:
            course = uid(rng)
            files["courses"].add([course, st, dlm, year, "2026年度 %s 学級活動" % g, "", g, school, "特別活動", ""])
            sections = max(1, min(4, n_students // (6 * 30) or 1))
            homerooms[g] = []
            for c in range(sections):
                cls = uid(rng)
                homerooms[g].append(cls)
                files["classes"].add([cls, st, dlm, "%s年%d組" % (g[1], c + 1), g, course, "", "homeroom", "",
                                      school, year, "", "", "", "false"])
            scheduled[g] = []
            for subj, code in SUBJECTS:
                scourse = uid(rng)
                files["courses"].add([scourse, st, dlm, year, "2026年度 %s %s" % (g, subj), "", g, school, subj,
                                      code])
                cls = uid(rng)
                scheduled[g].append(cls)
                files["classes"].add([cls, st, dlm, "%s年 %s" % (g[1], subj), g, scourse, "", "scheduled", "",
                                      school, year, subj, code, "1", "false"])
        teachers = []
        for t in range(n_teachers):
            uno += 1
            u = uid(rng)
            teachers.append(u)
            fam, giv = rng.choice(FAMILY), rng.choice(GIVEN)
            g = grades[t % 6]
            home = homerooms[g][t % len(homerooms[g])]
            files["users"].add([u, st, dlm, "true" if variant != "warnings" else "TRUE", "t%06d" % uno,
                                "{mext:T%06d}" % uno, giv[0], fam[0], "", "T%06d" % uno,
                                "t%06d@sakura.example.jp" % uno, "", "", "", g, "", uid(rng), giv[0], "", fam[0],
                                school, "", giv[1], fam[1], "", home])
            files["roles"].add([uid(rng), st, dlm, u, "primary", "teacher", "2026-04-01", "", school, ""])
            files["enrollments"].add([uid(rng), st, dlm, home, school, u, "teacher", "true", "", "", "", "true"])
            for cls in scheduled[g]:
                files["enrollments"].add([uid(rng), st, dlm, cls, school, u, "teacher", "true", "", "", "", "true"])
        for i in range(n_students):
            uno += 1
            u = uid(rng)
            fam, giv = rng.choice(FAMILY), rng.choice(GIVEN)
            g = grades[i % 6]
            home = homerooms[g][(i // 6) % len(homerooms[g])]
            given = giv[0]
            if variant == "formula" and i < 4:
                given = ["'=1+2", "'+81", "'-x", "'@SUM(A1)"][i]   # as our export writes them
            files["users"].add([u, st, dlm, "true", "s%06d" % uno, "{mext:S%06d}" % uno, given, fam[0], "",
                                "S%06d" % uno, "", "", "", "", g, "", uid(rng), giv[0], "", fam[0], school, "",
                                giv[1], fam[1], "", home])
            files["roles"].add([uid(rng), st, dlm, u, "primary", "student", "2026-04-01", "", school, ""])
            files["enrollments"].add([uid(rng), st, dlm, home, school, u, "student", "false", "", "",
                                      str(i // 6 % 40 + 1), "false"])
            for cls in scheduled[g]:
                files["enrollments"].add([uid(rng), st, dlm, cls, school, u, "student", "false", "", "", "",
                                          "false"])
            if i % 10 == 0:
                files["demographics"].add([u, st, dlm, "2018-0%d-15" % (i % 9 + 1), rng.choice(["male", "female"]),
                                           "", "", "", "", "", "", "", "JP", "", "", ""])
            if i % 50 == 0:
                files["userProfiles"].add([uid(rng), st, dlm, u, "learning", "vendor-1", "app-1", "学習アプリ",
                                           "password", "s%06d" % uno, ""])
    return files, rng


def manifest(modes, extra=None):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["propertyName", "value"])
    w.writerow(["manifest.version", "1.0"])
    w.writerow(["oneroster.version", "1.2"])
    for f in ALL_FILES:
        w.writerow(["file." + f, modes.get(f, "absent")])
    for k, v in (extra or []):
        w.writerow([k, v])
    w.writerow(["source.systemName", "gen_roster_bundle.py"])
    return out.getvalue()


def delta_bundle(n_users, seed):
    """Changes relative to the clean bundle of the same seed: rename some users, delete some, add a few."""
    files, rng = build(n_users, seed, "clean")
    lines = files["users"].text().split("\r\n")
    header, rows = lines[0], [l for l in lines[1:] if l]
    out = Rows("users")
    parsed = list(csv.reader(rows))
    students = [r for r in parsed if r[4].startswith("s")]
    for r in students[:3]:
        r[1], r[2] = "active", DLM
        r[6] = r[6] + "（改）"
        out.add(r)
    for r in students[3:5]:
        out.add([r[0], "tobedeleted", DLM] + [""] * (len(r) - 3))
    # a delta that deletes users deletes what refers to them too (the hub refuses a delta that leaves them dangling)
    gone = {r[0] for r in students[3:5]}
    dependants = {}
    for name, col in (("roles", 3), ("enrollments", 5), ("demographics", 0), ("userProfiles", 3)):
        dl = files[name].text().split("\r\n")
        dr = Rows(name)
        for r in csv.reader([l for l in dl[1:] if l]):
            if r[col] in gone:
                dr.add([r[0], "tobedeleted", DLM] + [""] * (len(r) - 3))
        dependants[name] = dr
    school = parsed[0][20]
    for k in range(2):
        giv, fam = GIVEN[k], FAMILY[k]
        out.add([uid(rng), "active", DLM, "true", "new%03d" % k, "", giv[0], fam[0], "", "", "", "", "", "", "P1",
                 "", "", "", "", "", school, "", giv[1], fam[1], "", ""])
    return {"users": out, **dependants}


def zip_bytes(entries, compress=zipfile.ZIP_DEFLATED):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", compress) as z:
        for name, data in entries:
            z.writestr(name, data)
    return b.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--variant", default="clean", choices=sorted(VARIANTS))
    ap.add_argument("--single", help="write only this file as a loose CSV (e.g. users)")
    ap.add_argument("--dir", help="also write the CSV files into this directory (bench: raw COPY)")
    ap.add_argument("--out", required=False)
    ap.add_argument("--list", action="store_true", help="list the variants")
    a = ap.parse_args()
    if a.list:
        for k, v in VARIANTS.items():
            print("%-12s %s" % (k, v))
        return 0
    if not a.out:
        ap.error("--out is required")
    v = a.variant
    if v == "delta":
        files = delta_bundle(a.users, a.seed)
        modes = {k: "delta" for k in files}
    else:
        files, rng = build(a.users, a.seed, v)
        modes = {k: "bulk" for k in ORDER}
    texts = {k: r.text() for k, r in files.items()}
    enc = {k: t.encode("utf-8") for k, t in texts.items()}
    extra = None
    if v == "rows":
        lines = texts["users"].split("\r\n")
        r = list(csv.reader([lines[1]]))[0]
        bad = [r[:] for _ in range(4)]
        bad[0][6] = ""                      # required givenName missing
        bad[1][0] = uid(random.Random(9))
        bad[1][14] = "G9"                   # not a MEXT grade code
        bad[2][0] = uid(random.Random(10))
        bad[2][20] = "no-such-org"          # dangling reference
        bad[3] = r[:]                       # duplicate sourcedId
        o = io.StringIO()
        csv.writer(o, lineterminator="\r\n").writerows(bad)
        enc["users"] = (texts["users"] + o.getvalue()).encode("utf-8")
    elif v == "sjis":
        enc["users"] = texts["users"].encode("shift_jis")
    elif v == "unterminated":
        enc["users"] = (texts["users"] + 'x1,,,true,bad,,"unterminated,山田\r\n').encode("utf-8")
    elif v == "bigfield":
        enc["users"] = (texts["users"] + "x2,,,true,big,," + "".join(map(
            random.Random(3).choice, ["あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"]
            * (10 * 1024 * 1024 // 3))) + ",山田" + "," * 18
                        + "\r\n").encode("utf-8")
    elif v == "nul":
        lines = texts["users"].split("\r\n")
        first = lines[2].split(",", 1)
        lines[2] = "nultest\0-evil-suffix," + first[1]
        enc["users"] = "\r\n".join(lines).encode("utf-8")
    elif v == "dupheader":
        enc["users"] = texts["users"].replace("metadata.jp.kanaMiddleName", "metadata.jp.kanaGivenName", 1).encode()
    elif v == "order":
        lines = texts["orgs"].split("\r\n")
        lines[0] = "sourcedId,status,dateLastModified,type,name,identifier,parentSourcedId"
        enc["orgs"] = "\r\n".join(lines).encode("utf-8")
    elif v == "unknownfile":
        extra = [("file.pets", "bulk")]
    elif v == "missingfile":
        del enc["enrollments"]
    elif v == "extrameta":
        lines = texts["users"].split("\r\n")
        lines = [lines[0] + ",metadata.vendor.club,metadata.vendor.note"] + \
                [l + ",サッカー部,メモ" if l else l for l in lines[1:]]
        enc["users"] = "\r\n".join(lines).encode("utf-8")
    if a.dir:
        import os
        os.makedirs(a.dir, exist_ok=True)
        for k, data in enc.items():
            with open(os.path.join(a.dir, k + ".csv"), "wb") as f:
                f.write(data)
    if a.single:
        with open(a.out, "wb") as f:
            f.write(enc[a.single])
        return 0
    entries = [("manifest.csv", manifest(modes, extra).encode("utf-8"))]
    entries += [(k + ".csv", enc[k]) for k in ORDER if k in enc]
    if v == "traversal":
        entries = [(("../" + n) if n == "users.csv" else n, d) for n, d in entries]
    elif v == "absolute":
        entries = [(("/tmp/" + n) if n == "users.csv" else n, d) for n, d in entries]
    elif v == "bomb":
        entries = [(n, d if n != "users.csv" else b"0" * (300 * 1024 * 1024)) for n, d in entries]
    data = zip_bytes(entries)
    if v == "truncated":
        data = data[: len(data) // 2]
    with open(a.out, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

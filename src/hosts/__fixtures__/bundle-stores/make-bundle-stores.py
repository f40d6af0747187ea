"""Writes the SQLite files bundle-store-reader.test.ts reads, and beside each the answer of
bundle-wire.ts's READ_STORE_PY (SQLite's own) as <name>.expected.json. Run from this folder:
    npx tsx -e 'import {READ_STORE_PY} from "../../bundle-wire.ts"; process.stdout.write(READ_STORE_PY)' > /tmp/read-store.py
    python3 make-bundle-stores.py /tmp/read-store.py
Deterministic (seeded, no set order), so the files only change when this script or SQLite does,
except wal-pending.sqlite3-wal: SQLite salts each -wal file's header at random."""
import json, os, random, shutil, sqlite3, subprocess, sys

SCHEMA = open(os.path.join(os.path.dirname(__file__), "schema.sql")).read()
rng = random.Random(17)


def fresh(name, page_size=4096, journal="DELETE", encoding=None, schema=SCHEMA):
    path = f"{name}.sqlite3"
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA page_size = {page_size}")
    if encoding:
        db.execute(f"PRAGMA encoding = '{encoding}'")
    db.execute(f"PRAGMA journal_mode = {journal}")
    db.executescript(schema)
    return db


def bundle(db, name, version="1.0.0", state="installed"):
    return db.execute("INSERT INTO extensions (name, version, state, backend_modules, capabilities, created_at, updated_at) VALUES (?, ?, ?, '[]', '{}', 't', 't')", (name, version, state)).lastrowid


def activation(db, ext, activated=None, deactivated=None, error=None):
    db.execute("INSERT INTO extension_activations (extension_id, activated_at, deactivated_at, activation_error) VALUES (?, ?, ?, ?)", (ext, activated, deactivated, error))


# What the host writes right after it starts: the tables, no row.
fresh("empty").close()

# A host after a suite: installs, activations that worked, failed and were closed, a bundle
# re-imported, one activation whose bundle row is gone (the LEFT JOIN's NULL name).
db = fresh("typical")
a = bundle(db, "bnd-basic", "1.2.0", "activated")
b = bundle(db, "bnd-activate-raises", "0.1.0", "failed")
c = bundle(db, "Zeta", "2.0.0", "deactivated")
activation(db, a, "2026-11-30T10:00:00.000+00:00")
activation(db, b, None, None, "RuntimeError: activate() raised\n  at line 3")
activation(db, c, "2026-11-30T10:00:01.000+00:00", "2026-11-30T10:00:02.000+00:00")
activation(db, 99, "2026-11-30T10:00:03.000+00:00")
activation(db, None, None, None, "no bundle")
db.execute("UPDATE extensions SET version = '1.3.0' WHERE name = 'bnd-basic'")
db.commit()
db.close()

# Many rows on small pages (interior pages, several levels), long errors on overflow chains, names
# whose UTF-8 byte order differs from JavaScript's UTF-16 order, deleted rows (free pages), NULL names.
db = fresh("large", page_size=512)
ids = []
names = set()
while len(names) < 300:
    names.add("".join(rng.choice("abcXYZ-_.0\u00e9\ue000\U0001f600") for _ in range(rng.randint(1, 12))))
for n in sorted(sorted(names), key=lambda _: rng.random()):
    ids.append(bundle(db, n, f"{rng.randint(0, 9)}.{rng.randint(0, 9)}.0", rng.choice(["installed", "activated", "failed", "deactivated"])))
bundle(db, None, "0.0.1")
bundle(db, None, "0.0.2")
for i in range(1000):
    error = None
    if i % 97 == 0:
        error = "".join(rng.choice("Traceback (most recent call last):\n  File \u00e9 \U0001f600 x") for _ in range(rng.choice([600, 3000, 9000])))
    activation(db, rng.choice(ids), f"2026-11-30T10:{i // 60 % 60:02d}:{i % 60:02d}.000+00:00" if error is None else None, None, error)
db.execute("DELETE FROM extension_activations WHERE id % 7 = 3")
db.execute("DELETE FROM extensions WHERE id % 11 = 5")
db.commit()
db.close()

# A column added by ALTER TABLE after rows were written: their records lack it (NULL).
db = fresh("altered", schema=SCHEMA.replace("    state TEXT,\n", ""))
bundle_old = db.execute("INSERT INTO extensions (name, version) VALUES ('old', '0.1.0')").lastrowid
db.execute("ALTER TABLE extensions ADD COLUMN state TEXT")
bundle(db, "new", "0.2.0", "installed")
activation(db, bundle_old, "t")
db.commit()
db.close()

# A WAL database after its last connection closed (every frame checkpointed into the file), UTF-16,
# a REAL given to a TEXT column (stored as TEXT), TEXT a lax decoder would change (a leading U+FEFF,
# NUL inside, a genuine U+FFFD, a character beyond U+FFFF), an INTEGER where the column has no type.
db = fresh("wal", journal="WAL")
bundle(db, "in-the-wal")
db.commit()
db.close()
db = fresh("utf16", encoding="UTF-16le")
bundle(db, "utf16")
bundle(db, "\ufeffbom \U0001f600")
db.commit()
db.close()
db = fresh("real-version")
db.execute("INSERT INTO extensions (name, version, state) VALUES ('r', 1.5, 'installed')")
db.commit()
db.close()
db = fresh("text-edges")
for n in ["\ufeffbom-first", "nul\x00inside", "\ufffd-genuine", "\U0001f600", "plain"]:
    bundle(db, n)
activation(db, 1, "\ufeff", None, "a\x00b")
db.commit()
db.close()
db = fresh("untyped-integer", schema=SCHEMA.replace("version TEXT", "version"))
db.execute("INSERT INTO extensions (name, version, state) VALUES ('i', 7, 'installed')")
db.commit()
db.close()

# What only SQLite can answer: a WAL database whose last commit is still in its -wal file, an
# INTEGER beyond 2^53 or a REAL (a column without a type keeps them), a BLOB where text is read, TEXT
# that is not UTF-8, a missing table.
db = fresh("wal-pending", journal="WAL")
db.execute("PRAGMA wal_autocheckpoint = 0")
bundle(db, "in-the-file")
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
bundle(db, "only-in-the-wal")
db.commit()
# A copy while the connection is open: closing the last connection checkpoints and removes the -wal.
for suffix in ("", "-wal"):
    shutil.copyfile(f"wal-pending.sqlite3{suffix}", f"wal-pending.copy{suffix}")
db.close()
for suffix in ("", "-wal"):
    os.replace(f"wal-pending.copy{suffix}", f"wal-pending.sqlite3{suffix}")
db = fresh("untyped-big-integer", schema=SCHEMA.replace("version TEXT", "version"))
db.execute("INSERT INTO extensions (name, version, state) VALUES ('b', 9007199254740993, 'installed')")
db.commit()
db.close()
db = fresh("untyped-real", schema=SCHEMA.replace("version TEXT", "version"))
db.execute("INSERT INTO extensions (name, version, state) VALUES ('r', 1.5, 'installed')")
db.commit()
db.close()
db = fresh("not-utf8")
db.execute("INSERT INTO extensions (name, version, state) VALUES (CAST(x'6e6f74ff' AS TEXT), '1', 'installed')")
db.commit()
db.close()
db = fresh("blob-name")
db.execute("INSERT INTO extensions (name, version, state) VALUES (x'00ff', '1', 'installed')")
db.commit()
db.close()
db = fresh("no-activations", schema=SCHEMA.split("CREATE TABLE IF NOT EXISTS extension_activations")[0])
db.close()

reader = sys.argv[1]
names = ["empty", "typical", "large", "altered", "wal", "utf16", "real-version", "text-edges", "untyped-integer",
         "wal-pending", "untyped-big-integer", "untyped-real", "blob-name", "not-utf8", "no-activations"]
for name in names:
    # wal-pending is answered with its -wal (as SQLite in the container reads it); a read-only reader leaves it as it is.
    kept = {"-wal": open(f"{name}.sqlite3-wal", "rb").read()} if name == "wal-pending" else {}
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{name}.sqlite3{suffix}") and suffix not in kept:
            os.remove(f"{name}.sqlite3{suffix}")
    r = subprocess.run([sys.executable, reader, f"{name}.sqlite3"], capture_output=True, text=True)
    answer = json.loads(r.stdout) if r.returncode == 0 else {"sqliteFails": r.stderr.strip().splitlines()[-1]}
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{name}.sqlite3{suffix}"):
            os.remove(f"{name}.sqlite3{suffix}")
    for suffix, data in kept.items():
        with open(f"{name}.sqlite3{suffix}", "wb") as f:
            f.write(data)
    with open(f"{name}.expected.json", "w") as f:
        json.dump(answer, f, indent=1 if len(json.dumps(answer)) < 5000 else None, ensure_ascii=False)
        f.write("\n")

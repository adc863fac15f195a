"""Release task: bring the SQLite schema up to date (idempotent).

plat runs it once per push, on one host, in the new release before any
host switches. db/ is a linked dir, so the database outlives releases.
"""
import os
import sqlite3

HERE = os.path.dirname(os.path.abspath(__file__))
DB = os.path.join(os.environ.get("PLAT_DEPLOY_TO", HERE), os.environ["NOTES_DB"]) if os.environ.get("NOTES_DB") \
    else os.path.join(HERE, "db", "notes.sqlite3")
MIGRATIONS = [
    "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, release TEXT, host TEXT)",
]

os.makedirs(os.path.dirname(DB), exist_ok=True)
with sqlite3.connect(DB) as db:
    for m in MIGRATIONS:
        db.execute(m)
    if db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0:
        db.execute("INSERT INTO notes (body) VALUES ('Deployed by plat')")
    db.execute("INSERT INTO migrations (release, host) VALUES (?, ?)",
               (os.environ.get("PLAT_RELEASE"), os.environ.get("PLAT_HOST")))
print("migrated")

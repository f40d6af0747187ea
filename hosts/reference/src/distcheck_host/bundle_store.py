"""The bundle database (BND): SQLite from the standard library at `<data_dir>/bundles.sqlite3`, with the
two tables of the Superset seed (SEED-SYSTEMS.md): `extensions` (one row per bundle name) and
`extension_activations` (one row per activation attempt).

Every call opens its own connection and commits before it returns, so the HTTP server's threads never
share one. Nothing here validates a bundle: bundles.py writes a row only after everything was checked.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS extensions (
    id INTEGER PRIMARY KEY,
    name TEXT UNIQUE,
    version TEXT,
    frontend_entry TEXT,
    backend_modules TEXT,
    capabilities TEXT,
    state TEXT,
    created_at TEXT,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS extension_activations (
    id INTEGER PRIMARY KEY,
    extension_id INTEGER,
    activated_at TEXT,
    deactivated_at TEXT,
    activation_error TEXT
);
"""


def now() -> str:
    """UTC, ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class BundleRow:
    id: int
    name: str
    version: str
    frontend_entry: str | None
    backend_modules: list[str]
    capabilities: dict[str, Any]
    state: str
    created_at: str
    updated_at: str


def _row(record: sqlite3.Row) -> BundleRow:
    return BundleRow(
        id=record["id"],
        name=record["name"],
        version=record["version"],
        frontend_entry=record["frontend_entry"],
        backend_modules=json.loads(record["backend_modules"] or "[]"),
        capabilities=json.loads(record["capabilities"] or "{}"),
        state=record["state"],
        created_at=record["created_at"],
        updated_at=record["updated_at"],
    )


class BundleStore:
    def __init__(self, path: str) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10)
        connection.row_factory = sqlite3.Row
        return connection

    def init(self) -> None:
        """Creates the file and the tables when they do not exist yet."""
        with closing(self._connect()) as connection, connection:
            connection.executescript(SCHEMA)

    def get(self, name: str) -> BundleRow | None:
        with closing(self._connect()) as connection:
            record = connection.execute("SELECT * FROM extensions WHERE name = ?", (name,)).fetchone()
        return _row(record) if record is not None else None

    def all(self) -> list[BundleRow]:
        with closing(self._connect()) as connection:
            records = connection.execute("SELECT * FROM extensions ORDER BY name").fetchall()
        return [_row(record) for record in records]

    def save_installed(self, name: str, version: str, frontend_entry: str | None, backend_modules: list[str],
                       capabilities: dict[str, Any]) -> BundleRow:
        """Inserts the bundle, or replaces the stored version of a bundle of that name; state `installed`."""
        stamp = now()
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT INTO extensions (name, version, frontend_entry, backend_modules, capabilities, state, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'installed', ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET version = excluded.version, frontend_entry = excluded.frontend_entry, "
                "backend_modules = excluded.backend_modules, capabilities = excluded.capabilities, "
                "state = 'installed', updated_at = excluded.updated_at",
                (name, version, frontend_entry, json.dumps(backend_modules), json.dumps(capabilities), stamp, stamp),
            )
        row = self.get(name)
        assert row is not None
        return row

    def set_state(self, name: str, state: str) -> None:
        with closing(self._connect()) as connection, connection:
            connection.execute("UPDATE extensions SET state = ?, updated_at = ? WHERE name = ?", (state, now(), name))

    def record_activation(self, extension_id: int, activated_at: str | None, error: str | None) -> None:
        """One row per attempt: `activated_at` when it succeeded, `activation_error` when it did not."""
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT INTO extension_activations (extension_id, activated_at, deactivated_at, activation_error) "
                "VALUES (?, ?, NULL, ?)",
                (extension_id, activated_at, error),
            )

    def record_deactivation(self, extension_id: int, deactivated_at: str) -> None:
        """Closes the open activation (activated, not yet deactivated) of a bundle."""
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "UPDATE extension_activations SET deactivated_at = ? WHERE id = (SELECT MAX(id) FROM "
                "extension_activations WHERE extension_id = ? AND activated_at IS NOT NULL AND deactivated_at IS NULL)",
                (deactivated_at, extension_id),
            )

    def activations(self, extension_id: int) -> list[dict[str, Any]]:
        """The activation log of a bundle, oldest first."""
        with closing(self._connect()) as connection:
            records = connection.execute(
                "SELECT activated_at, deactivated_at, activation_error FROM extension_activations "
                "WHERE extension_id = ? ORDER BY id", (extension_id,)).fetchall()
        return [dict(record) for record in records]

    def last_errors(self) -> dict[int, str | None]:
        """The activation error of each bundle's latest activation attempt."""
        with closing(self._connect()) as connection:
            records = connection.execute(
                "SELECT extension_id, activation_error FROM extension_activations WHERE id IN "
                "(SELECT MAX(id) FROM extension_activations GROUP BY extension_id)").fetchall()
        return {record["extension_id"]: record["activation_error"] for record in records}


__all__ = ["BundleRow", "BundleStore", "now"]

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

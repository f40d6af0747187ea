// Which sample wheels the discovery suite installs on which host. Shared with the benchmark (bench/),
// whose naive loop and floor install the same wheels; pure, no vitest.

/** Extension ids in the discovery host's disabled list (WHL-07). */
export const DISABLED = ["dev.distcheck.disabled-me"];
/** Installed by name on the discovery host; their outcomes do not interfere. */
export const DISCOVERY = ["ok-basic", "ok-factory", "dep-user", "import-error", "ctor-raises", "manifest-method-missing", "manifest-invalid-json", "manifest-missing-id", "no-manifest", "dup-a", "dup-b", "disabled-me", "setup-raises", "frontend-present", "frontend-missing", "static-symlinks"];
/** Only put in the --find-links folder: pip must resolve it from there through dep-user's Requires-Dist (WHL-01). */
export const RESOLVED_BY_PIP = ["dep-base"];
/** Installed before the lifecycle host ("after install, upgrade and removal") first boots. */
export const LIFECYCLE_BOOT = ["ok-basic", "dup-a", "dup-b"];
/** Put in the lifecycle host's --find-links folder, installed while it runs (a new wheel, and ok-basic's upgrade). */
export const LIFECYCLE_LATER = ["ok-factory", "ok-basic-2"];

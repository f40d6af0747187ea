/**
 * The two SELECTs that read the reference host's bundle database, written once: READ_STORE_PY
 * (bundle-wire.ts) runs them with SQLite in the container, bundle-store-reader.ts runs the same
 * statements with sql.js on the file's bytes. Kept as parts so the native read can ask for each
 * selected value's storage class and bytes without touching what orders and joins the rows.
 */
export interface StoreQuery {
  /** The JSON key of each selected value, in order. */
  keys: readonly string[];
  /** The selected expressions, in order. */
  columns: readonly string[];
  /** Everything after the select list: FROM, joins, ORDER BY. */
  rest: string;
}

/** Every bundle row, ordered by name. */
export const BUNDLES_QUERY: StoreQuery = {
  keys: ["name", "version", "state"],
  columns: ["name", "version", "state"],
  rest: "FROM extensions ORDER BY name",
};

/** Every activation record, oldest first, with the name of its bundle (NULL when that row is gone). */
export const ACTIVATIONS_QUERY: StoreQuery = {
  keys: ["name", "activated_at", "deactivated_at", "activation_error"],
  columns: ["e.name", "a.activated_at", "a.deactivated_at", "a.activation_error"],
  rest: "FROM extension_activations a LEFT JOIN extensions e ON e.id = a.extension_id ORDER BY a.id",
};

/** The statement as the container's Python runs it. */
export function selectOf(query: StoreQuery, columns: readonly string[] = query.columns): string {
  return `SELECT ${columns.join(", ")} ${query.rest}`;
}

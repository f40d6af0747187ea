/**
 * ARC-14: the configuration a host writes when none is saved, computed from the config schema by the
 * harness: an explicit `default` wins; otherwise an object collects the defaults of its properties,
 * nested objects included, and an object with no default anywhere below is left out (undefined).
 */
export function schemaDefaults(schema: unknown): unknown {
  if (typeof schema !== "object" || schema === null) return undefined;
  const s = schema as Record<string, unknown>;
  if ("default" in s) return structuredClone(s.default);
  if (typeof s.properties !== "object" || s.properties === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of Object.entries(s.properties as Record<string, unknown>)) {
    const value = schemaDefaults(sub);
    if (value !== undefined) out[key] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

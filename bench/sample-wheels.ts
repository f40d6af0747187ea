import type { WheelDeclaration } from "../src/fixtures/declarations/fixture-declaration.ts";

/**
 * Declarations of `count` well-behaved sample wheels for the discovery growth measurement: copies of
 * a template sample (ok-basic) with every name made unique (distribution, import package, entry
 * point, manifest id and name, routes, services, operators), so the host loads them all side by side
 * and the oracle predicts each one listed with no diagnostic.
 */
export function scaledSamples(template: WheelDeclaration, count: number): WheelDeclaration[] {
  const dash = template.name;
  const underscore = dash.replace(/-/g, "_");
  const title = dash.replace(/(^|-)(\w)/g, (_, sep: string, c: string) => `${sep ? " " : ""}${c.toUpperCase()}`);
  const width = String(count).length;
  const text = JSON.stringify(template);
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(width, "0");
    const copy = text.replaceAll(dash, `scale-${n}`).replaceAll(underscore, `scale_${n}`).replaceAll(title, `Scale ${n}`);
    return JSON.parse(copy) as WheelDeclaration;
  });
}

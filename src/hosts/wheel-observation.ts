import type { CodeExpectation, WheelDeclaration } from "../fixtures/declarations/fixture-declaration.ts";
import { predictWheels, type WheelHostFacts, type WheelOutcome } from "../oracle/wheel-oracle.ts";
import type { WheelObservation } from "../oracle/wheel-judge.ts";
import type { BootedHost } from "./booted-host.ts";
import type { HostAdapter } from "./host-adapter.ts";
import type { WitnessLine } from "./host-wire.ts";

/** Everything a WHL judgement reads from a booted host, fetched at once. */
export async function observeWheels(host: BootedHost): Promise<WheelObservation & { witness: WitnessLine[] }> {
  const [extensions, diagnostics, registry, witness] = await Promise.all([host.extensions(), host.diagnostics(), host.registry(), host.witness()]);
  return { extensions, diagnostics, registry, witness };
}

/**
 * The oracle's prediction in the codes of the host under test: the oracle names the reference
 * host's finer codes, which an adapter maps onto its host's (`hostCode`); nothing else changes.
 */
export function predictWheelsFor(adapter: Pick<HostAdapter, "hostCode">, installed: WheelDeclaration[], facts: WheelHostFacts): Map<string, WheelOutcome> {
  const map = (e: CodeExpectation): CodeExpectation => (Array.isArray(e) ? [...new Set(e.map((c) => adapter.hostCode(c)))] : adapter.hostCode(e));
  const out = new Map<string, WheelOutcome>();
  for (const [name, o] of predictWheels(installed, facts)) {
    const messageMustName: Record<string, string[]> = {};
    for (const [code, strings] of Object.entries(o.messageMustName)) messageMustName[adapter.hostCode(code)] = [...new Set([...(messageMustName[adapter.hostCode(code)] ?? []), ...strings])];
    out.set(name, { ...o, diagnostics: o.diagnostics.map(map), messageMustName });
  }
  return out;
}

import type { CodeExpectation, WheelDeclaration } from "../fixtures/declarations/fixture-declaration.ts";
import type { WheelOutcome } from "./wheel-oracle.ts";

/**
 * Compares what a host showed (extension list, diagnostics, registry, witness lines) with what the
 * oracle predicted, fixture by fixture. Pure: the suites fetch, this judges, the tests assert that no
 * problem was found. Every problem names the fixture, the prediction and what was seen.
 */

/** One item of `GET /api/extensions`. */
export interface ListedExtension {
  id: string;
  name: string;
  version: string;
  description?: string | null;
  distribution?: string;
  entry_point?: string;
  remote_entry_url?: string;
}

/** One item of `GET /api/diagnostics`. */
export interface HostDiagnostic {
  code: string;
  extension_id?: string | null;
  entry_point?: string | null;
  distribution?: string | null;
  message: string;
}

/** What extensions registered, by owner where the host can tell (an owner left out is unknown). */
export interface HostRegistry {
  routes: Array<{ method: string; path: string; owner?: string }>;
  services: Array<{ name: string; owner?: string }>;
  operators: Array<{ id: string; owner?: string }>;
}

/** The witness lines of one boot (INTERFACE.md witness protocol); only `fixture` and `event` are read. */
export interface WitnessEvent {
  fixture: string;
  event: string;
  [key: string]: unknown;
}

export interface WheelObservation {
  extensions: ListedExtension[];
  diagnostics: HostDiagnostic[];
  /** A kind the host cannot list is left out, and is not judged. */
  registry: Partial<HostRegistry>;
  witness: WitnessEvent[];
}

/** One way the host differs from the prediction, about these fixtures. */
export interface WheelProblem {
  fixtures: string[];
  message: string;
}

export interface WheelJudgement {
  problems: WheelProblem[];
  /** Extension id of each duplicate group → the fixture the host kept (when one was kept). */
  winners: Record<string, string>;
}

/** PEP 503 name normalisation. */
export const normaliseDistribution = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, "-");
const squash = (text: string): string => text.replace(/\s+/g, "");

/** Whether a diagnostic is about this fixture: by entry point and distribution, else by its id. */
export function diagnosticBelongsTo(d: HostDiagnostic, decl: WheelDeclaration, extensionId: string | null, shared: boolean): boolean {
  if (d.entry_point || d.distribution) {
    return (!d.entry_point || d.entry_point === decl.entryPointName) && (!d.distribution || normaliseDistribution(d.distribution) === normaliseDistribution(decl.distribution));
  }
  return !shared && extensionId !== null && d.extension_id === extensionId;
}

function listingIs(item: ListedExtension, decl: WheelDeclaration): boolean {
  if (item.distribution) return normaliseDistribution(item.distribution) === normaliseDistribution(decl.distribution);
  if (item.entry_point) return item.entry_point === decl.entryPointName;
  return false;
}

const satisfied = (expectation: CodeExpectation, codes: string[]): boolean => (Array.isArray(expectation) ? expectation : [expectation]).some((c) => codes.includes(c));
const allowedCodes = (expectations: CodeExpectation[]): string[] => expectations.flatMap((e) => (Array.isArray(e) ? e : [e]));
const show = (e: CodeExpectation): string => (Array.isArray(e) ? e.join(" or ") : e);

export function judgeWheels(installed: WheelDeclaration[], outcomes: Map<string, WheelOutcome>, seen: WheelObservation): WheelJudgement {
  const problems: WheelProblem[] = [];
  const winners: Record<string, string> = {};
  const byName = new Map(installed.map((d) => [d.name, d]));
  const setupLines = (fixture: string): number => seen.witness.filter((w) => w.fixture === fixture && w.event === "setup").length;

  // Duplicate groups first: which member won decides how its members are judged.
  const winnerOf = new Map<string, string | null>();
  for (const o of outcomes.values()) {
    if (!o.duplicateGroup || winnerOf.has(o.extensionId!)) continue;
    const id = o.extensionId!;
    const members = o.duplicateGroup.map((n) => byName.get(n)!);
    const listings = seen.extensions.filter((e) => e.id === id);
    const report = (message: string): void => void problems.push({ fixtures: o.duplicateGroup!, message });
    let winner: string | null = null;
    if (o.listed === "one-of") {
      if (listings.length !== 1) report(`WHL-06 ${o.duplicateGroup.join("/")}: exactly one extension with id ${id} must be listed, got ${listings.length}`);
      const listing = listings.length === 1 ? listings[0]! : undefined;
      // A host whose listing names neither distribution nor entry point tells the kept one by
      // reporting every other member as a duplicate (each of those diagnostics names its entry point).
      const found = !listing ? [] : listing.distribution || listing.entry_point ? members.filter((m) => listingIs(listing, m)) : members.filter((m) => !seen.diagnostics.some((d) => d.code === "duplicate_extension_id" && (d.entry_point || d.distribution) && diagnosticBelongsTo(d, m, id, true)));
      if (listing && found.length !== 1) report(`WHL-06 ${id}: the listing ${JSON.stringify(listing)} does not say which of ${o.duplicateGroup.join(", ")} it is (distribution/entry_point, or duplicate_extension_id diagnostics naming the others)`);
      winner = found.length === 1 ? found[0]!.name : null;
    } else {
      if (listings.length > 0) report(`${id}: predicted not listed (${o.reason}), but listed: ${JSON.stringify(listings)}`);
      const notDuplicate = members.filter((m) => !seen.diagnostics.some((d) => d.code === "duplicate_extension_id" && diagnosticBelongsTo(d, m, id, true)));
      if (notDuplicate.length === 1) winner = notDuplicate[0]!.name;
      else report(`WHL-06 ${id}: exactly one of ${o.duplicateGroup.join(", ")} must be the kept one (not reported duplicate_extension_id), got ${notDuplicate.length}`);
    }
    winnerOf.set(id, winner);
    if (winner) winners[id] = winner;
  }

  for (const [name, o] of outcomes) {
    const decl = byName.get(name)!;
    const shared = o.duplicateGroup !== undefined;
    const isWinner = shared ? winnerOf.get(o.extensionId!) === name : true;
    const mine = seen.diagnostics.filter((d) => diagnosticBelongsTo(d, decl, o.extensionId, shared));
    const codes = mine.map((d) => d.code);
    const where = `${name} (${o.reason})`;
    const report = (message: string): void => void problems.push({ fixtures: [name], message });

    if (shared && !isWinner) {
      if (!codes.includes("duplicate_extension_id")) report(`WHL-06 ${where}: not the kept duplicate, so it must be reported duplicate_extension_id; its diagnostics: ${JSON.stringify(mine)}`);
      const extra = codes.filter((c) => c !== "duplicate_extension_id");
      if (extra.length > 0) report(`WHL-06 ${where}: a dropped duplicate is reported only as duplicate_extension_id, also got ${extra.join(", ")}`);
      if (setupLines(name) > 0) report(`WHL-06 ${where}: the dropped duplicate's setup() ran (witness)`);
      checkNothingRegistered(decl, null, seen.registry, report, where);
      continue;
    }

    // Listing.
    const listing = o.extensionId === null ? seen.extensions.filter((e) => listingIs(e, decl)) : seen.extensions.filter((e) => e.id === o.extensionId);
    if (o.listed === true || (o.listed === "one-of" && isWinner)) {
      if (listing.length !== 1) report(`${where}: predicted listed once, listed ${listing.length} times`);
    } else if (o.listed === false && listing.length > 0) report(`${where}: predicted not listed, but listed as ${JSON.stringify(listing)}`);
    for (const item of listing) {
      if (item.name !== decl.manifest?.name || item.version !== decl.manifest?.version) {
        report(`WHL-02 ${where}: listed with name/version ${JSON.stringify([item.name, item.version])}, its installed extension.json says ${JSON.stringify([decl.manifest?.name, decl.manifest?.version])}`);
      }
      if (o.remoteEntryUrl !== undefined && o.remoteEntryUrl !== "any" && (item.remote_entry_url ?? null) !== o.remoteEntryUrl) {
        report(`WHL-13 ${where}: remote_entry_url ${JSON.stringify(item.remote_entry_url ?? null)}, predicted ${JSON.stringify(o.remoteEntryUrl)}`);
      }
    }

    // Diagnostics: every predicted one present, nothing else reported about this extension.
    for (const e of o.diagnostics) if (!satisfied(e, codes)) report(`${where}: predicted diagnostic ${show(e)}, got ${codes.length ? codes.join(", ") : "none"}`);
    const allowed = allowedCodes(o.diagnostics);
    const unexpected = codes.filter((c) => !allowed.includes(c));
    if (unexpected.length > 0) report(`${where}: unexpected diagnostic(s) ${unexpected.join(", ")}: ${JSON.stringify(mine.filter((d) => unexpected.includes(d.code)))}`);
    for (const [code, strings] of Object.entries(o.messageMustName)) {
      for (const d of mine.filter((x) => x.code === code)) {
        const missing = strings.filter((s) => !squash(d.message).includes(squash(s)));
        if (missing.length > 0) report(`${where}: the ${code} message must name ${strings.join(" and ")}; it lacks ${missing.join(", ")}: ${JSON.stringify(d.message)}`);
      }
    }

    // setup() ran or not, as the extension itself reports it.
    const runs = setupLines(name);
    const shouldRun = o.setupRuns === true || (o.setupRuns === "one-of" && isWinner);
    if (shouldRun && runs === 0) report(`${where}: predicted setup() to run, no setup witness line`);
    if (!shouldRun && runs > 0) report(`${where}: setup() must not run, but it wrote ${runs} setup witness line(s)`);

    // Registrations: a loaded extension's are there; a skipped or failed one registered nothing.
    const loaded = o.listed === true || o.listed === "any" || (o.listed === "one-of" && isWinner);
    if (o.registrations === "any") continue;
    if (loaded) checkRegistered(decl, o.extensionId!, seen.registry, report, where);
    else checkNothingRegistered(decl, o.extensionId, seen.registry, report, where);
  }
  return { problems, winners };
}

/** Registered by `id`, or by someone when the host does not say who registered it. */
const ownedBy = (x: { owner?: string }, id: string): boolean => x.owner === undefined || x.owner === id;

function checkRegistered(decl: WheelDeclaration, id: string, registry: Partial<HostRegistry>, report: (message: string) => void, where: string): void {
  for (const r of registry.routes ? decl.behaviour.routes : []) {
    if (!registry.routes!.some((x) => x.method === r.method && x.path === r.path && ownedBy(x, id))) report(`${where}: route ${r.method} ${r.path} of ${id} is not registered`);
  }
  for (const s of registry.services ? decl.behaviour.services : []) if (!registry.services!.some((x) => x.name === s && ownedBy(x, id))) report(`${where}: service ${s} of ${id} is not registered`);
  for (const op of registry.operators ? decl.behaviour.operators : []) if (!registry.operators!.some((x) => x.id === op && ownedBy(x, id))) report(`${where}: operator ${op} of ${id} is not registered`);
}

function checkNothingRegistered(decl: WheelDeclaration, id: string | null, registry: Partial<HostRegistry>, report: (message: string) => void, where: string): void {
  const routes = (registry.routes ?? []).filter((x) => (id !== null && x.owner === id) || decl.behaviour.routes.some((r) => r.path === x.path));
  const services = (registry.services ?? []).filter((x) => (id !== null && x.owner === id) || decl.behaviour.services.includes(x.name));
  const operators = (registry.operators ?? []).filter((x) => (id !== null && x.owner === id) || decl.behaviour.operators.includes(x.id));
  if (routes.length + services.length + operators.length > 0) {
    report(`${where}: not set up, yet registered ${JSON.stringify({ routes, services, operators })}`);
  }
}

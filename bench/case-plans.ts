import path from "node:path";
import type { FileToPut } from "../src/containers/cell-container.ts";
import type { HostileIndexEntry } from "../src/fixtures/build/fixture-index.ts";
import type { WheelDeclaration } from "../src/fixtures/declarations/fixture-declaration.ts";
import type { HostAdapter, HostSettings } from "../src/hosts/host-adapter.ts";
import type { Cell } from "../src/matrix/matrix.ts";
import { predictWheels } from "../src/oracle/index.ts";
import { DISABLED, DISCOVERY, LIFECYCLE_BOOT, LIFECYCLE_LATER, RESOLVED_BY_PIP } from "../suites/support/discovery-sets.ts";
import { archive, CONTAINER_WHEELS, containerPath, hostileEntries, toContainer, wheel } from "../suites/support/fixture-files.ts";
import { BRIDGE_ARCHIVE, hostGroups, PREVIOUS_ARCHIVE, TARGET_ID, type HostGroup } from "../suites/support/hostile-groups.ts";
import type { BenchCase } from "./workload.ts";

/**
 * What (b) and (c) do, step by step, for the workload's cases: the naive loop one container per case
 * (`casePlan`), the floor one container per host (a) booted (`sessionPlans`). Both install the
 * same fixture bytes at the same container paths as the suites (suites/support), boot the host the
 * same way (its adapter's launch), and make the calls the case is about; only the naive loop
 * compares answers, with expectations from the oracle and the fixture index, never from a host.
 */

/** One thing done to a host container. */
export type Step =
  | { op: "pip"; args: string[] }
  | { op: "boot" }
  | { op: "restart" }
  /** Serve `dir` over HTTP from inside the container (the naive loop's download source). */
  | { op: "serve"; dir: string; port: number }
  /** An HTTP call; the naive loop checks the status (a regex) and, with `query` (jq), the selected value (a regex). */
  | { op: "call"; method: "GET" | "POST"; path: string; body?: unknown; status: string; query?: string; expect?: string }
  /** Polls a GET until `query` selects a value matching `expect`. */
  | { op: "wait"; path: string; query: string; expect: string; timeoutS: number };

/** A container with a host in it: the image, what goes in before boot, and the steps. */
export interface HostPlan {
  cell: Cell;
  image: string;
  files: FileToPut[];
  steps: Step[];
}

/** What plans need to know about the run's cells. */
export interface PlanContext {
  adapter: HostAdapter;
  /** The host's core version (the oracle's input; the discovery samples declare no range). */
  coreVersion: string;
  /** Host image tag per cell id. */
  hostImage: (cell: Cell) => string;
  /** A timing factor per cell: waits are scaled by it. */
  factor: (cell: Cell) => number;
  declarations: ReadonlyMap<string, WheelDeclaration>;
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const oneOf = (values: readonly string[]): string => `^(${values.map(escapeRegex).join("|")})$`;
const pipInstall = (names: readonly string[]): string[] => ["install", "--no-index", "--find-links", CONTAINER_WHEELS, ...names.map((n) => containerPath(wheel(n)))];

function decl(ctx: PlanContext, name: string): WheelDeclaration {
  const d = ctx.declarations.get(name);
  if (!d) throw new Error(`no wheel declaration named ${name} under fixtures/wheels`);
  return d;
}

/** The ids the oracle says the host lists with these wheels installed (ids whose listing the contract leaves open are left out of both sides). */
export function predictedListing(ctx: PlanContext, names: readonly string[], disabled: readonly string[] = []): { ids: string[]; open: string[] } {
  const outcomes = predictWheels(names.map((n) => decl(ctx, n)), { coreVersion: ctx.coreVersion, disabled: [...disabled] });
  const ids = new Set<string>();
  const open = new Set<string>();
  for (const o of outcomes.values()) {
    if (o.extensionId === null) continue;
    if (o.listed === "any") open.add(o.extensionId);
    else if (o.listed === true || o.listed === "one-of") ids.add(o.extensionId);
  }
  return { ids: [...ids].sort(), open: [...open].sort() };
}

/** GET /api/extensions, comparing the listed ids with the oracle's. */
function listingCall(ctx: PlanContext, names: readonly string[], disabled: readonly string[] = []): Step {
  const { ids, open } = predictedListing(ctx, names, disabled);
  const query = `[.[].id] - ${JSON.stringify(open)} | unique | join(",")`;
  return { op: "call", method: "GET", path: "/api/extensions", status: "^200$", query, expect: `^${escapeRegex(ids.join(","))}$` };
}

const launchFiles = (ctx: PlanContext, settings: HostSettings): FileToPut[] => ctx.adapter.launch(settings).files;
const wheelFiles = (names: readonly string[]): FileToPut[] => toContainer(names.map((n) => wheel(n)));

/** The hostile host groups (one host per set of limits), as the suite lays them out. */
export function hostileGroups(): HostGroup[] {
  return hostGroups(hostileEntries());
}

function groupNamed(name: string): HostGroup {
  const g = hostileGroups().find((x) => x.name === name);
  if (!g) throw new Error(`no hostile host group named ${JSON.stringify(name)} (the corpus gives: ${hostileGroups().map((x) => x.name).join("; ")})`);
  return g;
}

function entryOf(c: BenchCase): HostileIndexEntry {
  const found = hostileEntries().find((e) => e.name === c.entry!.name && e.format === c.entry!.format);
  if (!found) throw new Error(`no hostile corpus entry ${c.entry!.name} (${c.entry!.format}) in fixtures/dist/index.json`);
  return found;
}

const waitRunning = (ctx: PlanContext, cell: Cell, id: string): Step => ({ op: "wait", path: `/api/agent/extensions/${id}`, query: ".state", expect: "^running$", timeoutS: Math.ceil(30 * ctx.factor(cell)) });

/** Installs the previous version under the target id and waits until it runs (the hostile suite's precondition). */
function previousInstalled(ctx: PlanContext, cell: Cell): Step[] {
  const previous = archive(PREVIOUS_ARCHIVE, "tar.gz");
  return [
    { op: "call", method: "POST", path: "/api/agent/install", body: { source: containerPath(previous), sha256: previous.sha256, id: TARGET_ID }, status: "^201$" },
    waitRunning(ctx, cell, TARGET_ID),
  ];
}

/** The previous version stopped and started again (the group's final ARC-07 test). */
function stopAndStart(ctx: PlanContext, cell: Cell): Step[] {
  return [
    { op: "call", method: "POST", path: `/api/agent/extensions/${TARGET_ID}/stop`, body: {}, status: "^2[0-9][0-9]$" },
    { op: "call", method: "POST", path: `/api/agent/extensions/${TARGET_ID}/start`, body: {}, status: "^2[0-9][0-9]$" },
    waitRunning(ctx, cell, TARGET_ID),
  ];
}

/** The install of one hostile entry, and (for an entry predicted to install) the wait until it runs. */
function hostileInstall(ctx: PlanContext, c: BenchCase, cell: Cell, urlOf: (file: string) => string): Step[] {
  const entry = entryOf(c);
  const installed = entry.predicted.outcome === "installed";
  const id = installed ? `distcheck.hostile-${entry.name}-${entry.format.replace(/\W/g, "")}-${c.entry!.via}` : TARGET_ID;
  const source = c.entry!.via === "file" ? containerPath(entry) : urlOf(path.basename(entry.file));
  const body = { source, sha256: entry.sha256, id };
  if (installed) return [{ op: "call", method: "POST", path: "/api/agent/install", body, status: "^201$", query: ".id", expect: `^${escapeRegex(id)}$` }, waitRunning(ctx, cell, id)];
  const codes = [entry.predicted.code ?? []].flat();
  return [{ op: "call", method: "POST", path: "/api/agent/install", body, status: "^4[0-9][0-9]$", query: '.error.code // "none"', expect: oneOf(codes) }];
}

function hostileFiles(group: HostGroup): FileToPut[] {
  return toContainer([...group.entries, archive(PREVIOUS_ARCHIVE, "tar.gz"), archive(BRIDGE_ARCHIVE, "tar.gz")]);
}

/** The port the naive loop's in-container file server listens on. */
export const NAIVE_SERVE_PORT = 8080;

/** One case as the naive loop runs it: a fresh container, its installs, a boot, the case's calls compared. */
export function casePlan(ctx: PlanContext, c: BenchCase, cell: Cell): HostPlan {
  const image = ctx.hostImage(cell);
  /** A hostile case: its group's host booted with the previous version installed, then `steps`. */
  const hostilePlan = (steps: Step[]): HostPlan => {
    const group = groupNamed(c.group!);
    return { cell, image, files: [...hostileFiles(group), ...launchFiles(ctx, group.settings)], steps: [{ op: "boot" }, ...previousInstalled(ctx, cell), ...steps] };
  };
  switch (c.kind) {
    case "discovery":
      return {
        cell,
        image,
        files: [...wheelFiles([...DISCOVERY, ...RESOLVED_BY_PIP]), ...launchFiles(ctx, { disabled: DISABLED })],
        steps: [
          { op: "pip", args: pipInstall(DISCOVERY) },
          { op: "boot" },
          listingCall(ctx, [...DISCOVERY, ...RESOLVED_BY_PIP], DISABLED),
          { op: "call", method: "GET", path: "/api/diagnostics", status: "^200$", query: "length > 0", expect: "^true$" },
        ],
      };
    case "discovery-lifecycle":
      return {
        cell,
        image,
        files: wheelFiles([...LIFECYCLE_BOOT, ...LIFECYCLE_LATER]),
        steps: [
          { op: "pip", args: pipInstall(LIFECYCLE_BOOT) },
          { op: "boot" },
          listingCall(ctx, LIFECYCLE_BOOT),
          { op: "pip", args: pipInstall(LIFECYCLE_LATER) },
          { op: "restart" },
          listingCall(ctx, ["ok-basic-2", ...LIFECYCLE_BOOT.filter((n) => n !== "ok-basic"), "ok-factory"]),
        ],
      };
    case "hostile-entry": {
      const url = (file: string): string => `http://127.0.0.1:${NAIVE_SERVE_PORT}/${file}`;
      const serve: Step[] = c.entry!.via === "url" ? [{ op: "serve", dir: "/fixtures/archives", port: NAIVE_SERVE_PORT }] : [];
      return hostilePlan([...serve, ...hostileInstall(ctx, c, cell, url)]);
    }
    case "hostile-group":
      return hostilePlan(stopAndStart(ctx, cell));
    case "generic":
      return { cell, image, files: [], steps: [{ op: "boot" }, ...genericCalls()] };
  }
}

function genericCalls(): Step[] {
  return [
    { op: "call", method: "GET", path: "/readyz", status: "^200$" },
    { op: "call", method: "GET", path: "/api/version", status: "^200$" },
  ];
}

/** One host (a) boots, as the floor redoes it: the wheel layer (a) would start from, or the pip install it would run. */
export interface SessionPlan extends HostPlan {
  /** `discovery`, `discovery lifecycle`, `hostile <group>`, `<suite>`. */
  name: string;
  /** The wheel layer (a) boots from, when the suite installs wheels before boot; the floor uses it when the engine holds it. */
  wheelLayer?: { pip: string[]; files: FileToPut[] };
  /** The cases whose calls this host serves. */
  cases: string[];
}

/**
 * The hosts (a) boots for these cases, one per suite host per cell (the discovery host, the
 * lifecycle host, one hostile host per limit group; one per suite and cell for other suites), each
 * with (a)'s installs and restarts and the calls of its cases. `urlOf` gives the download URL of an
 * archive for the cell (the floor's file server).
 */
export function sessionPlans(ctx: PlanContext, cases: readonly BenchCase[], cellOf: (id: string) => Cell, urlOf: (cell: Cell, file: string) => string): SessionPlan[] {
  const sessions = new Map<string, SessionPlan>();
  const finalChecks = new Set<SessionPlan>();
  const session = (key: string, make: () => SessionPlan): SessionPlan => {
    let s = sessions.get(key);
    if (!s) sessions.set(key, (s = make()));
    return s;
  };
  for (const c of cases) {
    const cell = cellOf(c.cell);
    const image = ctx.hostImage(cell);
    switch (c.kind) {
      case "discovery": {
        const s = session(`${cell.id} discovery`, () => ({
          name: "discovery",
          cell,
          image,
          files: [...wheelFiles([...DISCOVERY, ...RESOLVED_BY_PIP]), ...launchFiles(ctx, { disabled: DISABLED })],
          wheelLayer: { pip: ["python3", "-m", "pip", ...pipInstall(DISCOVERY)], files: wheelFiles([...DISCOVERY, ...RESOLVED_BY_PIP]) },
          steps: [{ op: "boot" }],
          cases: [],
        }));
        s.steps.push(...casePlan(ctx, c, cell).steps.filter((x) => x.op === "call"));
        s.cases.push(c.id);
        break;
      }
      case "discovery-lifecycle": {
        const s = session(`${cell.id} lifecycle`, () => ({
          name: "discovery lifecycle",
          cell,
          image,
          files: wheelFiles([...LIFECYCLE_BOOT, ...LIFECYCLE_LATER]),
          wheelLayer: { pip: ["python3", "-m", "pip", ...pipInstall(LIFECYCLE_BOOT)], files: wheelFiles([...LIFECYCLE_BOOT, ...LIFECYCLE_LATER]) },
          // (a)'s lifecycle host: the later wheels installed and a restart, then ok-basic 2 removed and a restart.
          steps: [
            { op: "boot" },
            listingCall(ctx, LIFECYCLE_BOOT),
            { op: "pip", args: pipInstall(LIFECYCLE_LATER) },
            { op: "restart" },
            { op: "pip", args: ["uninstall", "-y", decl(ctx, "ok-basic-2").distribution] },
            { op: "restart" },
          ],
          cases: [],
        }));
        s.steps.push({ op: "call", method: "GET", path: "/api/extensions", status: "^200$" });
        s.cases.push(c.id);
        break;
      }
      case "hostile-entry":
      case "hostile-group": {
        const group = groupNamed(c.group!);
        const s = session(`${cell.id} hostile ${group.name}`, () => ({
          name: `hostile ${group.name}`,
          cell,
          image,
          files: [...hostileFiles(group), ...launchFiles(ctx, group.settings)],
          steps: [{ op: "boot" }, ...previousInstalled(ctx, cell)],
          cases: [],
        }));
        if (c.kind === "hostile-entry") s.steps.push(...hostileInstall(ctx, c, cell, (file) => urlOf(cell, file)));
        else finalChecks.add(s);
        s.cases.push(c.id);
        break;
      }
      case "generic": {
        const s = session(`${cell.id} ${c.suite}`, () => ({ name: c.suite, cell, image, files: [], steps: [{ op: "boot" }], cases: [] }));
        s.steps.push(...genericCalls());
        s.cases.push(c.id);
        break;
      }
    }
  }
  // The group's final test (ARC-07) stops and starts the previous version after every install, as in the suite.
  for (const s of finalChecks) s.steps.push(...stopAndStart(ctx, s.cell));
  return [...sessions.values()];
}

/** The archives a cell's file server holds: every hostile entry and the previous version. */
export function servedArchives(): Array<{ name: string; content: Buffer }> {
  return toContainer([...hostileEntries(), archive(PREVIOUS_ARCHIVE, "tar.gz")]).map((f) => ({ name: path.basename(f.target), content: f.content as Buffer }));
}


import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadFixtureDeclarations } from "../fixtures/declarations/declaration-loader.ts";
import type { WheelDeclaration } from "../fixtures/declarations/fixture-declaration.ts";
import { OracleError } from "./oracle-error.ts";
import { judgeWheels, type WheelObservation } from "./wheel-judge.ts";
import { predictWheels, type WheelOutcome } from "./wheel-oracle.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../../fixtures");
let all: WheelDeclaration[];
const pick = (...names: string[]): WheelDeclaration[] => names.map((n) => {
  const d = all.find((w) => w.name === n);
  if (!d) throw new Error(`no wheel fixture ${n}`);
  return d;
});
const variant = (name: string, change: (d: WheelDeclaration) => void): WheelDeclaration => {
  const d = structuredClone(pick(name)[0]!);
  change(d);
  return d;
};

beforeAll(async () => {
  all = (await loadFixtureDeclarations(FIXTURES)).wheels;
});

const COMPAT = ["compat-range", "compat-prerelease", "compat-wildcard", "compat-invalid-specifier", "compat-invalid-version"];
const CHAINS = ["chain-a", "chain-b", "chain-c", "chain-versioned", "chain-mismatch", "chain-after-mismatch", "chain-missing", "chain-invalid-requirement"];

describe("predictWheels agrees with every concrete prediction in the declarations", () => {
  it("for each wheel declared with listed/diagnostics, under its `when` configuration", () => {
    const concrete = all.filter((d) => d.predicted !== "oracle" && d.name !== "ok-basic-2");
    expect(concrete.length).toBeGreaterThan(10);
    for (const d of concrete) {
      const p = d.predicted as Exclude<WheelDeclaration["predicted"], "oracle">;
      const disabled = (p.when?.disabled as string[] | undefined) ?? [];
      const installed = d.name.startsWith("dup-") ? pick("dup-a", "dup-b") : d.name === "dep-user" ? pick("dep-user", "dep-base") : [d];
      const o = predictWheels(installed, { coreVersion: "0.8.0", disabled }).get(d.name)!;
      if (p.listed !== undefined) expect(o.listed, d.name).toBe(p.listed);
      // A duplicate group's declared diagnostics are the dropped member's; the oracle's are the winner's.
      const diagnostics = o.duplicateGroup ? [...o.diagnostics, "duplicate_extension_id"] : o.diagnostics;
      if (p.diagnostics) expect(diagnostics.map((c) => (Array.isArray(c) ? [...c].sort() : c)), d.name).toEqual(p.diagnostics.map((c) => (Array.isArray(c) ? [...c].sort() : c)));
      if (p.remoteEntryUrl) expect(o.remoteEntryUrl, d.name).toBe(p.remoteEntryUrl);
    }
  });
});

describe("requires_core_version (WHL-08), pre-releases included", () => {
  const at = (core: string): Map<string, WheelOutcome> => predictWheels(pick(...COMPAT), { coreVersion: core });
  it.each([
    // core, compat-range (>=0.7,<0.8), compat-prerelease (>=0.8.0rc1), compat-wildcard (==1.0.*)
    ["0.7.0rc1", false, false, false],
    ["0.7.0", true, false, false],
    ["0.7.99.post1", true, false, false],
    ["0.8.0rc0", false, false, false],
    ["0.8.0rc1", false, true, false],
    ["0.8.0", false, true, false],
    ["1.0.0rc1", false, true, true],
    ["1.0.99", false, true, true],
    ["1.1.0", false, true, false],
  ])("core %s: range %s, prerelease %s, wildcard %s", (core, range, pre, wild) => {
    const o = at(core);
    for (const [name, listed] of [["compat-range", range], ["compat-prerelease", pre], ["compat-wildcard", wild]] as const) {
      const x = o.get(name)!;
      expect(x.listed, `${name} at ${core}`).toBe(listed);
      expect(x.setupRuns).toBe(listed);
      expect(x.diagnostics).toEqual(listed ? [] : ["incompatible_extension"]);
      if (!listed) expect(x.messageMustName.incompatible_extension).toContain(core);
    }
    expect(o.get("compat-invalid-specifier")).toMatchObject({ listed: false, diagnostics: ["invalid_specifier"], setupRuns: false });
    expect(o.get("compat-invalid-version")).toMatchObject({ listed: false, diagnostics: ["invalid_version"], setupRuns: false });
  });

  it("names every clause of the specifier and the core version for the message", () => {
    expect(at("0.8.0").get("compat-range")!.messageMustName).toEqual({ incompatible_extension: [">=0.7", "<0.8", "0.8.0"] });
  });

  it("refuses an invalid core version", () => {
    expect(() => predictWheels(pick("ok-basic"), { coreVersion: "zero" })).toThrow(OracleError);
  });
});

describe("requires_extensions (WHL-09) to a fixed point", () => {
  it("loads a satisfied chain and skips mismatches, missing ids and what depends on them", () => {
    const o = predictWheels(pick(...CHAINS), { coreVersion: "0.8.0" });
    for (const n of ["chain-a", "chain-b", "chain-c", "chain-versioned"]) expect(o.get(n)).toMatchObject({ listed: true, diagnostics: [], setupRuns: true });
    expect(o.get("chain-mismatch")).toMatchObject({ listed: false, diagnostics: ["dependency_version_mismatch"], setupRuns: false });
    expect(o.get("chain-after-mismatch")).toMatchObject({ listed: false, diagnostics: ["dependency_skipped"], setupRuns: false });
    expect(o.get("chain-missing")).toMatchObject({ listed: false, diagnostics: ["missing_dependency"] });
    expect(o.get("chain-invalid-requirement")).toMatchObject({ listed: false, diagnostics: ["invalid_specifier"] });
  });

  it("propagates a disabled root transitively", () => {
    const o = predictWheels(pick(...CHAINS), { coreVersion: "0.8.0", disabled: ["dev.distcheck.chain-a"] });
    expect(o.get("chain-a")).toMatchObject({ listed: false, diagnostics: ["extension_disabled"] });
    for (const n of ["chain-b", "chain-c", "chain-versioned", "chain-after-mismatch"]) expect(o.get(n), n).toMatchObject({ listed: false, diagnostics: ["dependency_skipped"], setupRuns: false });
    // chain-a is installed but skipped, and its version does not match >=2.0 either: both codes fit.
    expect(o.get("chain-mismatch")!.diagnostics).toEqual([["dependency_skipped", "dependency_version_mismatch"]]);
  });

  it("propagates an incompatible root, and a missing one when the root is not installed", () => {
    const root = variant("chain-a", (d) => {
      d.manifest!.requires_core_version = ">=9";
    });
    const o = predictWheels([root, ...pick("chain-b", "chain-c")], { coreVersion: "0.8.0" });
    expect(o.get("chain-a")!.diagnostics).toEqual(["incompatible_extension"]);
    expect(o.get("chain-c")).toMatchObject({ listed: false, diagnostics: ["dependency_skipped"] });
    const without = predictWheels(pick("chain-b", "chain-c"), { coreVersion: "0.8.0" });
    expect(without.get("chain-b")!.diagnostics).toEqual(["missing_dependency"]);
    expect(without.get("chain-c")!.diagnostics).toEqual(["dependency_skipped"]);
  });

  it("skips dependants of a setup() that raised, and a dependant of a rejected manifest either way", () => {
    const user = variant("chain-b", (d) => {
      d.name = "needs-setup-raises";
      d.manifest!.id = "dev.distcheck.needs-setup-raises";
      d.manifest!.requires_extensions = ["dev.distcheck.setup-raises"];
    });
    const o = predictWheels([...pick("setup-raises"), user], { coreVersion: "0.8.0" });
    expect(o.get("setup-raises")).toMatchObject({ listed: "any", registrations: "any", setupRuns: true, diagnostics: ["setup_failed"] });
    expect(o.get("needs-setup-raises")).toMatchObject({ listed: false, setupRuns: false, diagnostics: ["dependency_skipped"] });
    const onInvalid = variant("chain-b", (d) => {
      d.manifest!.requires_extensions = ["dev.distcheck.compat-invalid-version"];
    });
    expect(predictWheels([...pick("compat-invalid-version"), onInvalid], { coreVersion: "0.8.0" }).get("chain-b")!.diagnostics).toEqual([["dependency_skipped", "missing_dependency"]]);
  });
});

describe("load, manifest, duplicates, disabled, frontend", () => {
  const DISCOVERY = ["ok-basic", "ok-factory", "dep-user", "dep-base", "import-error", "ctor-raises", "manifest-method-missing", "manifest-invalid-json", "manifest-missing-id", "no-manifest", "dup-a", "dup-b", "disabled-me", "setup-raises", "frontend-present", "frontend-missing"];
  it("predicts the discovery set", () => {
    const o = predictWheels(pick(...DISCOVERY), { coreVersion: "0.8.0", disabled: ["dev.distcheck.disabled-me"] });
    expect(o.get("import-error")).toMatchObject({ listed: false, diagnostics: ["entry_point_load_failed"] });
    expect(o.get("ctor-raises")).toMatchObject({ listed: false, diagnostics: ["plugin_initialize_failed"] });
    expect(o.get("manifest-method-missing")).toMatchObject({ listed: false, diagnostics: ["manifest_method_missing"] });
    for (const n of ["manifest-invalid-json", "manifest-missing-id", "no-manifest"]) expect(o.get(n)).toMatchObject({ listed: false, extensionId: null, diagnostics: [["manifest_read_failed", "manifest_invalid"]] });
    expect(o.get("dup-a")).toMatchObject({ listed: "one-of", setupRuns: "one-of", duplicateGroup: ["dup-a", "dup-b"], diagnostics: [] });
    expect(o.get("disabled-me")).toMatchObject({ listed: false, diagnostics: ["extension_disabled"], setupRuns: false });
    expect(o.get("setup-raises")).toMatchObject({ listed: "any", registrations: "any", diagnostics: ["setup_failed"], setupRuns: true });
    expect(o.get("frontend-present")).toMatchObject({ listed: true, remoteEntryUrl: "/extensions/dev.distcheck.frontend-present/remoteEntry.js" });
    expect(o.get("frontend-missing")).toMatchObject({ listed: "any", remoteEntryUrl: "any", diagnostics: ["frontend_remote_entry_missing"] });
    for (const n of ["ok-basic", "ok-factory", "dep-user", "dep-base"]) expect(o.get(n)).toMatchObject({ listed: true, setupRuns: true, diagnostics: [] });
  });

  it("refuses to guess when duplicate members would lead to different outcomes", () => {
    const newer = variant("dup-b", (d) => {
      d.manifest!.version = "2.0.0";
    });
    expect(() => predictWheels([...pick("dup-a"), newer], { coreVersion: "0.8.0" })).toThrowError(/share id dev.distcheck.dup/);
  });

  it("a disabled duplicate group: neither listed", () => {
    const o = predictWheels(pick("dup-a", "dup-b"), { coreVersion: "0.8.0", disabled: ["dev.distcheck.dup"] });
    expect(o.get("dup-b")).toMatchObject({ listed: false, setupRuns: false, diagnostics: ["extension_disabled"] });
  });
});

describe("judgeWheels", () => {
  const names = ["ok-basic", "setup-raises", "compat-range", "dup-a", "dup-b", "no-manifest", "frontend-present"];
  const core = "0.8.0";
  const installed = (): WheelDeclaration[] => pick(...names);
  const good = (): WheelObservation => ({
    extensions: [
      { id: "dev.distcheck.dup", name: "Distcheck Dup A", version: "1.0.0", distribution: "distcheck-sample-dup-a", entry_point: "dup-a" },
      { id: "dev.distcheck.frontend-present", name: "Distcheck Frontend Present", version: "1.0.0", distribution: "distcheck_sample_frontend_present", entry_point: "frontend-present", remote_entry_url: "/extensions/dev.distcheck.frontend-present/remoteEntry.js" },
      { id: "dev.distcheck.ok-basic", name: "Distcheck Ok Basic", version: "1.0.0", distribution: "distcheck-sample-ok-basic", entry_point: "ok-basic" },
    ],
    diagnostics: [
      { code: "setup_failed", extension_id: "dev.distcheck.setup-raises", entry_point: "setup-raises", distribution: "distcheck-sample-setup-raises", message: "setup() raised" },
      { code: "incompatible_extension", extension_id: "dev.distcheck.compat-range", entry_point: "compat-range", distribution: "distcheck-sample-compat-range", message: "requires core version '>=0.7,<0.8', but this host is 0.8.0" },
      { code: "duplicate_extension_id", extension_id: "dev.distcheck.dup", entry_point: "dup-b", distribution: "distcheck-sample-dup-b", message: "dup" },
      { code: "manifest_read_failed", entry_point: "no-manifest", distribution: "distcheck-sample-no-manifest", message: "no extension.json" },
    ],
    registry: {
      routes: [
        { method: "GET", path: "/api/ok-basic/ping", owner: "dev.distcheck.ok-basic" },
        { method: "GET", path: "/api/ok-basic/host", owner: "dev.distcheck.ok-basic" },
        { method: "POST", path: "/api/ok-basic/echo", owner: "dev.distcheck.ok-basic" },
        { method: "GET", path: "/api/dup-a/ping", owner: "dev.distcheck.dup" },
        { method: "GET", path: "/api/frontend-present/ping", owner: "dev.distcheck.frontend-present" },
      ],
      services: [{ name: "ok-basic.ping", owner: "dev.distcheck.ok-basic" }],
      operators: [{ id: "ok-basic.detect", owner: "dev.distcheck.ok-basic" }],
    },
    witness: ["ok-basic", "setup-raises", "dup-a", "frontend-present"].map((fixture) => ({ fixture, event: "setup" })),
  });
  const judge = (seen: WheelObservation) => judgeWheels(installed(), predictWheels(installed(), { coreVersion: core }), seen);

  it("finds no problem in a conforming host and names the duplicate winner", () => {
    expect(judge(good())).toEqual({ problems: [], winners: { "dev.distcheck.dup": "dup-a" } });
  });

  it.each<[string, (s: WheelObservation) => void, RegExp]>([
    ["an incompatible extension is listed", (s) => s.extensions.push({ id: "dev.distcheck.compat-range", name: "Distcheck Compat Range", version: "1.0.0" }), /compat-range.*predicted not listed/],
    ["setup() ran for a skipped extension", (s) => s.witness.push({ fixture: "compat-range", event: "setup" }), /compat-range.*must not run/],
    ["a skipped extension registered a route", (s) => s.registry.routes!.push({ method: "GET", path: "/api/compat-range/ping", owner: "dev.distcheck.compat-range" }), /compat-range.*registered/],
    ["the incompatibility message lacks the core version", (s) => (s.diagnostics[1]!.message = "requires '>=0.7,<0.8'"), /must name.*lacks 0\.8\.0/],
    ["a diagnostic is missing", (s) => s.diagnostics.splice(0, 1), /setup-raises.*predicted diagnostic setup_failed/],
    ["both duplicates are listed", (s) => s.extensions.push({ id: "dev.distcheck.dup", name: "Distcheck Dup B", version: "1.0.0", distribution: "distcheck-sample-dup-b" }), /exactly one extension with id dev.distcheck.dup/],
    ["the dropped duplicate is not reported", (s) => s.diagnostics.splice(2, 1), /dup-b.*duplicate_extension_id/],
    ["the dropped duplicate ran setup()", (s) => s.witness.push({ fixture: "dup-b", event: "setup" }), /dup-b.*setup\(\) ran/],
    ["a loaded extension reports a diagnostic", (s) => s.diagnostics.push({ code: "setup_failed", entry_point: "ok-basic", distribution: "distcheck-sample-ok-basic", message: "x" }), /ok-basic.*unexpected diagnostic/],
    ["the listed version is not the manifest's", (s) => (s.extensions[2]!.version = "0.0.0"), /WHL-02 ok-basic/],
    ["a route is missing", (s) => s.registry.routes!.splice(0, 1), /route GET \/api\/ok-basic\/ping/],
    ["the remote entry url is not published", (s) => delete s.extensions[1]!.remote_entry_url, /WHL-13 frontend-present/],
    ["setup() of a loaded extension did not run", (s) => s.witness.splice(0, 1), /ok-basic.*no setup witness/],
  ])("reports a host where %s", (_, breakIt, expected) => {
    const seen = good();
    breakIt(seen);
    const { problems } = judge(seen);
    expect(problems.map((p) => p.message).join("\n")).toMatch(expected);
  });
});

import { satisfies } from "@renovatebot/pep440";
import { describe, expect, it } from "vitest";
import { isPep440Specifier, isPep440Version, pep440Contains, Pep440Error, specifierBoundaries, specifierClauses } from "./pep440.ts";

// Expected values are PEP 440's (checked against Python `packaging`:
// SpecifierSet(spec).contains(Version(v), prereleases=True)).
describe("pep440Contains", () => {
  it.each([
    // The Toposync range >=0.7,<0.8 at its boundaries, pre-releases included.
    [">=0.7,<0.8", "0.7", true],
    [">=0.7,<0.8", "0.7.0", true],
    [">=0.7,<0.8", "0.7.99", true],
    [">=0.7,<0.8", "0.7.0.post1", true],
    [">=0.7,<0.8", "0.7.5rc1", true],
    [">=0.7,<0.8", "0.7.0rc1", false],
    [">=0.7,<0.8", "0.7.0.dev0", false],
    [">=0.7,<0.8", "0.8.0rc1", false], // <V excludes pre-releases of V itself
    [">=0.7,<0.8", "0.8.0.dev0", false],
    [">=0.7,<0.8", "0.8.0", false],
    [">=0.7,<0.8", "0.6.99", false],
    [">=0.7, <0.8", "0.7.1", true], // spaces after the comma
    // A floor that is a pre-release.
    [">=0.8.0rc1", "0.8.0rc1", true],
    [">=0.8.0rc1", "0.8.0rc2", true],
    [">=0.8.0rc1", "0.8.0", true],
    [">=0.8.0rc1", "0.8.0rc0", false],
    [">=0.8.0rc1", "0.8.0b9", false],
    [">=0.8.0rc1", "0.8.0.dev5", false],
    [">=0.8.0rc1", "0.7.99", false],
    // Wildcards.
    ["==1.0.*", "1.0.0", true],
    ["==1.0.*", "1.0", true],
    ["==1.0.*", "1.0.5rc1", true],
    ["==1.0.*", "1.0.0.dev1", true],
    ["==1.0.*", "1.1.0", false],
    ["==1.0.*", "1.1.0rc1", false],
    ["==1.0.*", "0.9.99", false],
    ["!=1.0.*", "1.0.3", false],
    // Exclusive ordered comparisons where @renovatebot/pep440 alone is wrong.
    [">1.0rc1", "1.0rc2", true],
    ["<1.0rc1", "1.0b1", true],
    [">1.0rc1", "1.0rc1", false],
    [">1.0", "1.0.post1", false],
    [">1.0.post1", "1.0.post2", true],
    [">1.0", "1.0.1", true],
    ["<1.0", "1.0rc1", false],
    ["<1.0", "0.9.9", true],
    // Compatible release.
    ["~=1.4.2", "1.4.5", true],
    ["~=1.4.2", "1.5.0", false],
    ["~=1.4", "1.9rc1", true],
    ["", "2.0rc1", true],
  ])("%s contains %s: %s", (spec, version, expected) => {
    expect(pep440Contains(spec, version)).toBe(expected);
  });

  it("corrects the library's exclusive comparisons (proves the correction is needed)", () => {
    expect(satisfies("1.0rc2", ">1.0rc1", { prereleases: true })).toBe(false);
    expect(pep440Contains(">1.0rc1", "1.0rc2")).toBe(true);
  });

  it("throws a Pep440Error with the contract's code for invalid input", () => {
    expect(() => pep440Contains("=>1.0", "1.0")).toThrow(Pep440Error);
    expect(() => pep440Contains(">=1.0", "not-a-version")).toThrowError(/not a PEP 440 version/);
    expect(() => pep440Contains(">>1", "1.0")).toThrow(expect.objectContaining({ code: "invalid_specifier", category: "harness" }));
    expect(() => pep440Contains(">=1.0", "not-a-version")).toThrow(expect.objectContaining({ code: "invalid_version", category: "harness" }));
  });
});

describe("validity", () => {
  it.each([["1.0.0", true], ["0.8.0rc1", true], ["1!2.0.post1.dev3+abc", true], ["not-a-version", false], ["1.0-", false], ["", false]])("version %s valid: %s", (v, ok) => {
    expect(isPep440Version(v)).toBe(ok);
  });
  it.each([[">=0.7,<0.8", true], ["==1.0.*", true], ["=>1.0", false], [">>1", false], ["~=1", false], [">=1.0.*", false], ["", true]])("specifier %s valid: %s", (s, ok) => {
    expect(isPep440Specifier(s)).toBe(ok);
  });
  it("splits clauses", () => {
    expect(specifierClauses(">=0.7, <0.8")).toEqual([">=0.7", "<0.8"]);
  });
});

describe("specifierBoundaries", () => {
  const at = (spec: string) => Object.fromEntries(specifierBoundaries(spec).map((b) => [b.version, b.contained]));
  it("probes both sides of every bound, pre-releases included", () => {
    expect(at(">=0.8,<0.9")).toEqual({ "0.8rc1": false, "0.8": true, "0.8.1": true, "0.9rc1": false, "0.9": false, "0.9.1": false });
  });
  it("a release bound of three parts is probed one patch above", () => {
    expect(at(">=0.8.0")).toEqual({ "0.8.0rc1": false, "0.8.0": true, "0.8.1": true });
  });
  it("a pre-release bound is probed with its dev release below", () => {
    expect(at(">=1.0.0rc1")).toEqual({ "1.0.0rc1.dev0": false, "1.0.0rc1": true, "1.0.1": true });
  });
  it("~= and ==X.* are probed at the release they stop before", () => {
    expect(at("~=0.8.1")).toMatchObject({ "0.8.1": true, "0.8.2": true, "0.9rc1": false, "0.9": false, "0.8.1rc1": false });
    expect(at("==0.8.*")).toEqual({ "0.8.0rc1": true, "0.8.0": true, "0.9rc1": false, "0.9": false });
  });
  it("!= admits both neighbours", () => {
    expect(at("!=1.0")).toEqual({ "1.0rc1": true, "1.0": false, "1.0.1": true });
  });
  it("has no edge for an empty specifier and refuses an invalid one", () => {
    expect(specifierBoundaries("")).toEqual([]);
    expect(() => specifierBoundaries(">=banana")).toThrow(/not a PEP 440 specifier/);
  });
});

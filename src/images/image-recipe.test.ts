import path from "node:path";
import { describe, expect, it } from "vitest";
import { RecipeError } from "../errors/distcheck-error.ts";
import { baseImageTag, loadRecipe, parseRecipe, recipeHash, type ImageRecipe } from "./image-recipe.ts";

const recipe = (over: Partial<Record<string, unknown>> = {}): ImageRecipe =>
  parseRecipe("bookworm", { kind: "debootstrap", suite: "bookworm", variant: "minbase", packages: ["python3", "python3-pip"], python: "3.11", ...over }, "bookworm.json");

describe("recipeHash", () => {
  it("is stable for the same recipe and platform", () => {
    expect(recipeHash(recipe(), "linux-x86_64")).toBe(recipeHash(recipe(), "linux-x86_64"));
    expect(recipeHash(recipe(), "linux-x86_64")).toMatch(/^[0-9a-f]{16}$/);
  });

  it("ignores key order and $comment", () => {
    const a = parseRecipe("x", { python: "3.11", kind: "debootstrap", packages: ["python3"], suite: "bookworm", $comment: "one" }, "a");
    const b = parseRecipe("x", { kind: "debootstrap", suite: "bookworm", packages: ["python3"], python: "3.11", $comment: "two" }, "b");
    expect(recipeHash(a, "linux-aarch64")).toBe(recipeHash(b, "linux-aarch64"));
  });

  it("ignores the recipe's file name, which is not content", () => {
    expect(recipeHash({ ...recipe(), name: "other" }, "linux-x86_64")).toBe(recipeHash(recipe(), "linux-x86_64"));
  });

  it("changes with every field that decides the image's bytes", () => {
    const base = recipeHash(recipe(), "linux-x86_64");
    expect(recipeHash(recipe(), "linux-aarch64")).not.toBe(base);
    expect(recipeHash(recipe({ suite: "trixie" }), "linux-x86_64")).not.toBe(base);
    expect(recipeHash(recipe({ variant: "buildd" }), "linux-x86_64")).not.toBe(base);
    expect(recipeHash(recipe({ packages: ["python3"] }), "linux-x86_64")).not.toBe(base);
    expect(recipeHash(recipe({ python: "3.12" }), "linux-x86_64")).not.toBe(base);
  });

  it("tags carry recipe, platform and hash", () => {
    expect(baseImageTag(recipe(), "linux-aarch64")).toBe(`distcheck/base-bookworm:linux-aarch64-${recipeHash(recipe(), "linux-aarch64")}`);
  });
});

describe("parseRecipe", () => {
  it("names the bad field", () => {
    expect(() => recipe({ kind: "dockerfile" })).toThrow(new RecipeError('bookworm.json: kind must be one of debootstrap, registry (got "dockerfile")'));
    expect(() => recipe({ python: "3" })).toThrow(/python must be a major.minor version/);
    expect(() => recipe({ packages: ["Bad Name"] })).toThrow(/packages must be a list of Debian package names/);
  });

  it("reads a registry recipe", () => {
    expect(parseRecipe("slim", { kind: "registry", ref: "python:3.12-slim", python: "3.12" }, "slim.json")).toEqual({ name: "slim", kind: "registry", ref: "python:3.12-slim", python: "3.12" });
  });

  it("loads the project's recipes and lists the available ones when one is missing", () => {
    const images = path.resolve(import.meta.dirname, "../../images");
    expect(loadRecipe(images, "bookworm")).toMatchObject({ kind: "debootstrap", suite: "bookworm", python: "3.11" });
    expect(loadRecipe(images, "trixie")).toMatchObject({ suite: "trixie", python: "3.13" });
    expect(() => loadRecipe(images, "sid")).toThrow(/Recipes here: bookworm, python-3.12-slim, trixie/);
  });
});

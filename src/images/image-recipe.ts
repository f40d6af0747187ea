import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { RecipeError } from "../errors/distcheck-error.ts";
import type { PlatformId } from "../platform/platforms.ts";

/** A base image built offline from the Debian archive. */
export interface DebootstrapRecipe {
  kind: "debootstrap";
  /** Debian suite, e.g. `bookworm`. */
  suite: string;
  /** debootstrap variant. @default "minbase" */
  variant: string;
  /** Packages added with `--include`. */
  packages: string[];
  /** Python major.minor the image provides. */
  python: string;
}

/** A base image taken from a registry, for machines that reach one. */
export interface RegistryRecipe {
  kind: "registry";
  /** Image reference, e.g. `python:3.12-slim`. */
  ref: string;
  python: string;
}

export type ImageRecipe = (DebootstrapRecipe | RegistryRecipe) & { name: string };

/**
 * Bumped when the way an image is built changes (cleanup, config, packing), so that images built
 * the old way are not mistaken for up to date.
 */
export const BUILDER_REVISION = 2;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => v !== undefined && !k.startsWith("$"))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Content hash of what decides an image's bytes: the recipe (comments and key order ignored),
 * the platform and the builder revision. Equal hash, equal image: nothing is rebuilt.
 */
export function recipeHash(recipe: ImageRecipe, platform: PlatformId): string {
  const { name: _name, ...content } = recipe;
  return createHash("sha256")
    .update(canonical({ content, platform, builder: BUILDER_REVISION }))
    .digest("hex")
    .slice(0, 16);
}

/** The tag an image is stored under: `distcheck/base-bookworm:linux-aarch64-<hash>`. */
export function baseImageTag(recipe: ImageRecipe, platform: PlatformId): string {
  return `distcheck/base-${recipe.name}:${platform}-${recipeHash(recipe, platform)}`;
}

export function parseRecipe(name: string, data: unknown, source: string): ImageRecipe {
  const fail = (msg: string): never => {
    throw new RecipeError(`${source}: ${msg}`);
  };
  if (data === null || typeof data !== "object" || Array.isArray(data)) return fail("must be a JSON object");
  const r = data as Record<string, unknown>;
  const str = (key: string): string => (typeof r[key] === "string" && (r[key] as string).length > 0 ? (r[key] as string) : fail(`${key} must be a non-empty string`));
  if (!/^3\.\d+$/.test(str("python"))) fail(`python must be a major.minor version such as 3.11 (got ${JSON.stringify(r.python)})`);
  if (r.kind === "debootstrap") {
    const packages = r.packages;
    if (!Array.isArray(packages) || packages.some((p) => typeof p !== "string" || !/^[a-z0-9][a-z0-9+.-]+$/.test(p))) {
      fail("packages must be a list of Debian package names");
    }
    return { name, kind: "debootstrap", suite: str("suite"), variant: typeof r.variant === "string" ? r.variant : "minbase", packages: packages as string[], python: str("python") };
  }
  if (r.kind === "registry") return { name, kind: "registry", ref: str("ref"), python: str("python") };
  return fail(`kind must be one of debootstrap, registry (got ${JSON.stringify(r.kind)})`);
}

/** Reads images/<name>.json. */
export function loadRecipe(imagesDir: string, name: string): ImageRecipe {
  const file = path.join(imagesDir, `${name}.json`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (cause) {
    const available = listRecipeNames(imagesDir);
    throw new RecipeError(`Could not read image recipe ${file}: ${(cause as Error).message}. Recipes here: ${available.join(", ") || "none"}.`, { cause });
  }
  return parseRecipe(name, data, file);
}

export function listRecipeNames(imagesDir: string): string[] {
  try {
    return readdirSync(imagesDir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
  } catch {
    return [];
  }
}

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { ToolIdentity } from "./certification-document.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
let cached: ToolIdentity | undefined;

/**
 * The tool a certification names: distcheck's package version and the git commit of its checkout
 * (`unknown` outside one, e.g. an installed package). `git rev-parse` only reads the repository.
 */
export function harnessIdentity(): ToolIdentity {
  if (cached) return cached;
  const version = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5_000 }).trim() || "unknown";
  } catch {
    // Not a checkout, or no git: the version alone identifies the tool.
  }
  cached = { name: "distcheck", version, commit };
  return cached;
}

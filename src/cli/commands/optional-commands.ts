import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";

/** The fixtures command lives with the fixture factory; register it when that module is present. */
export async function registerFixturesCommandIfPresent(program: Command): Promise<void> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures-command.ts");
  if (!existsSync(file)) return;
  const mod = (await import(file)) as { registerFixturesCommand?: (p: Command) => void };
  mod.registerFixturesCommand?.(program);
}

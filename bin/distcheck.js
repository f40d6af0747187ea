#!/usr/bin/env node
// The CLI runs from TypeScript sources through tsx, so `npm ci` is the only build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv.slice(2));
process.exitCode = code;
// The command is done and has cleaned up after itself. A connection a library keeps open (seen after
// the Docker engine restarted mid-run) must not keep a CI job waiting: exit anyway after a moment.
setTimeout(() => {
  if (process.env.DISTCHECK_DEBUG) console.error("distcheck: open handles kept the process alive after the command ended:", process._getActiveHandles().map((h) => h.constructor.name).join(", "));
  process.exit(code);
}, 2_000).unref();

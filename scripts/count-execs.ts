/**
 * Counts the processes distcheck starts inside cell containers (docker exec), per platform and per
 * command, from the engine's own event stream: under qemu every one is an emulated process start.
 *
 *   npx tsx scripts/count-execs.ts --out execs.jsonl -- node bin/distcheck.js run --reports /tmp/r
 *   npx tsx scripts/count-execs.ts --summarize execs.jsonl [--run RUN_ID] [--json]
 *
 * The first form follows `GET /events` (type container, event exec_create, label
 * dev.distcheck.managed=true) while the command runs, writes one JSON line per exec and prints the
 * summary. It has to follow live: the engine replays only its last 256 events for `since`, far fewer
 * than a run issues. Each exec is sorted as observation (looking at the container) or acting (pip,
 * signals, tampering, starting the host), by its command line.
 */
import { spawn } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import Docker from "dockerode";
import { dockerOptions, resolveEndpoint } from "../src/engine/docker-engine.ts";

interface ExecEvent {
  time: string;
  run: string;
  cell: string;
  platform: string;
  container: string;
  command: string;
}

/** Acting: the test changes the container's state or starts the host; everything else only looks. */
const ACTING: Array<[RegExp, string]> = [
  [/^python3 -m pip (--\S+ )*(install|uninstall)\b/, "pip"],
  [/^\/bin\/sh -c echo \$\$ > /, "host start"],
  [/^(\/bin\/)?sh -c kill\b|^kill -(?!0\b)/, "signal"],
  [/^rm\b/, "reset"],
  [/chmod u\+w|>> '/, "tamper"],
  [/\/dev\/urandom/, "oversized file"],
  [/resource\.prlimit/, "prlimit"],
];

/** Measuring the machine (the timing factor's CPU probe) is neither: it exists to run emulated. */
const MEASURING = /^python3 -c .*(perf_counter|timing)/s;

export function classify(command: string): { kind: "acting" | "observation" | "measuring"; why: string } {
  for (const [pattern, why] of ACTING) if (pattern.test(command)) return { kind: "acting", why };
  if (MEASURING.test(command)) return { kind: "measuring", why: "timing factor" };
  return { kind: "observation", why: "" };
}

/** The program an exec starts, as EXEC_COUNTS keys it (`sh -c 'cat x'` is `sh -c cat`). */
export function commandKey(command: string): string {
  const words = command.trim().split(/\s+/);
  if ((words[0] === "sh" || words[0] === "/bin/sh") && words[1] === "-c") return `sh -c ${words[2] ?? ""}`;
  if (words[0] === "python3" && words[1] === "-m") return `python3 -m ${words[2] ?? ""}`;
  // A script: its first words tell which probe it is.
  if (words[0] === "python3" && words[1] === "-c") return `python3 -c ${words.slice(2).join(" ").slice(0, 44)}`;
  return words[0] ?? "";
}

function summarize(events: ExecEvent[], run: string | undefined): object {
  const runs = [...new Set(events.map((e) => e.run))];
  const chosen = events.filter((e) => (run ? e.run === run : true));
  const byPlatform: Record<string, { total: number; observation: number; acting: number; measuring: number; commands: Record<string, { n: number; kind: string }> }> = {};
  for (const e of chosen) {
    const p = (byPlatform[e.platform || e.cell.split(".")[0] || "?"] ??= { total: 0, observation: 0, acting: 0, measuring: 0, commands: {} });
    const { kind, why } = classify(e.command);
    p.total++;
    p[kind]++;
    const key = `${commandKey(e.command)}${why ? ` [${why}]` : ""}`;
    (p.commands[key] ??= { n: 0, kind }).n++;
  }
  for (const p of Object.values(byPlatform)) p.commands = Object.fromEntries(Object.entries(p.commands).sort((a, b) => b[1].n - a[1].n));
  return { runs, run: run ?? "(all)", execs: chosen.length, containers: new Set(chosen.map((e) => e.container)).size, byPlatform };
}

function print(summary: ReturnType<typeof summarize> & Record<string, unknown>): void {
  const s = summary as { runs: string[]; run: string; execs: number; containers: number; byPlatform: Record<string, { total: number; observation: number; acting: number; measuring: number; commands: Record<string, { n: number; kind: string }> }> };
  console.log(`runs seen: ${s.runs.join(", ")}\nrun: ${s.run}: ${s.execs} execs in ${s.containers} containers`);
  for (const [platform, p] of Object.entries(s.byPlatform)) {
    console.log(`\n${platform}: ${p.total} (observation ${p.observation}, acting ${p.acting}, measuring ${p.measuring})`);
    for (const [key, c] of Object.entries(p.commands)) console.log(`  ${String(c.n).padStart(5)}  ${c.kind.padEnd(11)} ${key}`);
  }
}

async function watch(out: string, command: string[]): Promise<number> {
  const docker = new Docker(dockerOptions(resolveEndpoint("env")));
  const sink = createWriteStream(out, { flags: "a" });
  const events: ExecEvent[] = [];
  const stream = (await docker.getEvents({ filters: { type: ["container"], event: ["exec_create"], label: ["dev.distcheck.managed=true"] } })) as NodeJS.ReadableStream & { destroy(): void };
  let rest = "";
  stream.on("data", (chunk: Buffer) => {
    rest += chunk.toString("utf8");
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (!line) continue;
      const ev = JSON.parse(line) as { status?: string; Action?: string; id?: string; timeNano?: number; Actor?: { ID?: string; Attributes?: Record<string, string> } };
      const a = ev.Actor?.Attributes ?? {};
      const action = ev.Action ?? ev.status ?? "";
      const e: ExecEvent = {
        time: new Date(Number(ev.timeNano ?? 0) / 1e6).toISOString(),
        run: a["dev.distcheck.run"] ?? "",
        cell: a["dev.distcheck.cell"] ?? "",
        platform: a["dev.distcheck.platform"] ?? "",
        container: (ev.Actor?.ID ?? ev.id ?? "").slice(0, 12),
        command: action.replace(/^exec_create: /, ""),
      };
      events.push(e);
      sink.write(`${JSON.stringify(e)}\n`);
    }
  });
  const started = Date.now();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: "inherit" });
    child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => child.kill(s));
  });
  // Events of the last execs may still be on the wire.
  await new Promise((r) => setTimeout(r, 1000));
  stream.destroy();
  await new Promise<void>((r) => sink.end(r));
  console.log(`\n[count-execs] command exited ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s; events in ${out}`);
  print(summarize(events, undefined) as never);
  return code;
}

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const summarizeFile = opt("--summarize");
if (summarizeFile) {
  const events = readFileSync(summarizeFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as ExecEvent);
  const s = summarize(events, opt("--run"));
  if (args.includes("--json")) console.log(JSON.stringify(s, null, 2));
  else print(s as never);
} else {
  const dash = args.indexOf("--");
  const out = opt("--out");
  if (!out || dash < 0 || dash === args.length - 1) {
    console.error("usage: count-execs.ts --out FILE.jsonl -- COMMAND...  |  count-execs.ts --summarize FILE.jsonl [--run ID] [--json]");
    process.exit(2);
  }
  process.exitCode = await watch(out, args.slice(dash + 1));
}

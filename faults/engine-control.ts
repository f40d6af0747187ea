import { openSync, readFileSync, readdirSync } from "node:fs";
import { spawn } from "node:child_process";
import { execa } from "execa";
import { docker, until } from "./fault-run.ts";

// Restarting the machine's Docker engine the way it runs here: through systemd where it manages the
// engine, else by stopping the dockerd process and starting it again with its own command line (as
// `npm run setup-machine` started it). Only fault tests use this, and they hold the machine to themselves.

const LOG = "/var/log/distcheck-dockerd.log";

function dockerdPid(): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "dockerd") return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

async function systemdManaged(): Promise<boolean> {
  const r = await execa("systemctl", ["is-active", "--quiet", "docker"], { reject: false }).catch(() => undefined);
  return r?.exitCode === 0;
}

/** The engine answers. */
export async function engineAnswers(timeoutMs: number): Promise<void> {
  await until("the Docker engine to answer", async () => ((await docker.ping()) ? true : undefined), timeoutMs);
}

/** The command line dockerd runs with, to start it again the same way. */
export function dockerdCommand(): string[] {
  const pid = dockerdPid();
  if (pid === undefined) throw new Error("no dockerd process on this machine: the engine restart fault needs a local engine");
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
}

/** Starts dockerd with `command` when none runs (a test's cleanup after a failed restart). */
export async function ensureDockerd(command: string[]): Promise<void> {
  if (dockerdPid() !== undefined) return engineAnswers(60_000);
  const log = openSync(LOG, "a");
  // Through a shell that closes every descriptor but stdio first: the daemon outlives this test and
  // must not hold open what the test process inherited (a CI runner's pipes, a lock file).
  // bash, not dash: dash cannot name a descriptor above 9 and exits on the attempt.
  const closeAll = 'for fd in /proc/$$/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-" 2>/dev/null || true; fi; done; exec "$@"';
  spawn("bash", ["-c", closeAll, "bash", ...command], { detached: true, stdio: ["ignore", log, log] }).unref();
  await engineAnswers(60_000);
}

/** Stops the engine (it stops every container) and starts it again; resolves when it answers. */
export async function restartEngine(command: string[]): Promise<void> {
  if (await systemdManaged()) {
    await execa("systemctl", ["restart", "docker"]);
    return engineAnswers(60_000);
  }
  const pid = dockerdPid();
  if (pid === undefined) throw new Error("no dockerd process to restart");
  process.kill(pid, "SIGTERM");
  await until("dockerd to exit", async () => (dockerdPid() === undefined ? true : undefined), 60_000);
  await ensureDockerd(command);
}

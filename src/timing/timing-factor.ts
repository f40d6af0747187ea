import type { StartedCellContainer } from "../containers/cell-container.ts";
import { resolveEndpoint } from "../engine/docker-engine.ts";
import { platformFailure } from "../engine/exec-format-failure.ts";
import { ContainerError } from "../errors/distcheck-error.ts";

/** What the probe measured inside one container, in milliseconds (medians). */
export interface TimingProbe {
  /** Wall time of `python3 -c pass`, spawned from Python inside the container. */
  startupMs: number;
  /** A fixed pure-Python CPU loop. */
  cpuMs: number;
}

// Runs inside the container, so the harness's exec round trip is not part of the measure.
const PROBE = `
import json, os, statistics, subprocess, sys, time
# Without QEMU_CPU, like an extension process a host starts with a minimal environment: the
# factor covers the slowest processes of the cell.
ENV = {k: v for k, v in os.environ.items() if k != "QEMU_CPU"}
def startup():
    t = time.perf_counter(); subprocess.run([sys.executable, "-S", "-c", "pass"], check=True, env=ENV); return (time.perf_counter() - t) * 1000
def cpu():
    t = time.perf_counter(); x = 0
    for i in range(300000): x += i * i % 7
    return (time.perf_counter() - t) * 1000
print(json.dumps({"startupMs": statistics.median(startup() for _ in range(5)), "cpuMs": statistics.median(cpu() for _ in range(3))}))
`;

export async function probeTiming(container: StartedCellContainer, endpoint: string = resolveEndpoint(container.cell.platform.engine)): Promise<TimingProbe> {
  const r = await container.exec(["python3", "-c", PROBE]);
  if (r.exitCode !== 0) {
    // Its child process could not start while the platform's binaries had no handler: the machine's fault, with the fix.
    const site = { where: `Cell ${container.cell.id}`, what: "the timing probe", platform: container.cell.platform.info, endpoint };
    throw platformFailure(site, r.stderr) ?? new ContainerError("timing_probe_failed", `The timing probe failed in cell ${container.cell.id}: ${r.stderr.trim().slice(-500)}`);
  }
  return JSON.parse(r.stdout) as TimingProbe;
}

/**
 * How many times slower `probe` runs than `native`: the larger of the start-up and CPU ratios
 * (a stop involves both: a process waking on a signal and Python code running its handler),
 * never below 1, rounded up to a tenth.
 */
export function timingFactor(probe: TimingProbe, native: TimingProbe): number {
  const ratio = Math.max(probe.startupMs / native.startupMs, probe.cpuMs / native.cpuMs, 1);
  return Math.ceil(ratio * 10) / 10;
}

/**
 * How many times slower `probe` runs pure Python than `native`: what slows code a process runs once
 * it is up (a supervisor's poll loop, a signal handler), without the cost of starting a process.
 * Moments a host times with its own clock are scaled by this, not by `timingFactor`.
 */
export function cpuFactor(probe: TimingProbe, native: TimingProbe): number {
  return Math.ceil(Math.max(probe.cpuMs / native.cpuMs, 1) * 10) / 10;
}

/**
 * A timing bound scaled for a platform: `nominalMs` plus a tolerance of `toleranceMs` (what a
 * native run needs for exec round trips and scheduling) multiplied by the platform's factor.
 */
export function scaledBound(nominalMs: number, toleranceMs: number, factor: number): number {
  return nominalMs + toleranceMs * factor;
}

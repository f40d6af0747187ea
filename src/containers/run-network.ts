import type { ContainerEngine } from "../engine/container-engine.ts";
import { currentRun, runLabels, type RunIdentity } from "../run/run-identity.ts";

/**
 * The run's internal network: containers that serve HTTP to the harness (a booted host, a
 * download sidecar) join it. It has no route out of the machine; the harness reaches members at
 * their addresses. Created on first use, removed by the run's sweep.
 */
export class RunNetwork {
  private created: Promise<string> | undefined;

  constructor(private readonly engine: ContainerEngine, private readonly run: RunIdentity = currentRun()) {}

  /** The network's name, creating it on first call. */
  name(): Promise<string> {
    this.created ??= (async () => {
      const name = `distcheck-${this.run.runId}-${process.pid}`;
      await this.engine.createNetwork(name, { internal: true, labels: runLabels(this.run) });
      return name;
    })();
    return this.created;
  }
}

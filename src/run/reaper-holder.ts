// A stand-in for a run, for src/run/reaper.container.test.ts: starts the reaper, creates a labelled
// container and network like a run's, prints "holding" and waits to be killed.
import Docker from "dockerode";
import { dockerOptions, resolveEndpoint } from "../engine/docker-engine.ts";
import { currentRun, runLabels } from "./run-identity.ts";
import { startReaper } from "./reaper.ts";

const endpoint = resolveEndpoint("env");
const run = currentRun();
const reaper = await startReaper(endpoint, run, { graceS: 3 });
if ("skipped" in reaper) {
  process.stdout.write(`skipped ${reaper.skipped}\n`);
  process.exit(2);
}
const docker = new Docker(dockerOptions(endpoint));
const image = process.argv[2]!;
const container = await docker.createContainer({ Image: image, Cmd: ["sleep", "infinity"], Labels: runLabels(run), HostConfig: { NetworkMode: "none" } });
await container.start();
await docker.createNetwork({ Name: `distcheck-${run.runId}`, Internal: true, Labels: runLabels(run) });
process.stdout.write(`holding ${reaper.containerId} ${container.id}\n`);
setInterval(() => undefined, 1 << 30);

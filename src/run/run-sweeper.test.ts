import os from "node:os";
import { describe, expect, it } from "vitest";
import type { ContainerEngine, EngineContainer, EngineNetwork } from "../engine/container-engine.ts";
import { KEEP_VARIABLE, LABELS, runLabels } from "./run-identity.ts";
import { sweep } from "./run-sweeper.ts";

/** An engine holding labelled containers and networks; records what a sweep removes. */
function fakeEngine(containers: EngineContainer[], networks: EngineNetwork[]): ContainerEngine & { removed: string[] } {
  const removed: string[] = [];
  const matches = (labels: Record<string, string>, filter: string): boolean => {
    const [k, v] = filter.split("=");
    return v === undefined ? k! in labels : labels[k!] === v;
  };
  return {
    endpoint: "unix:///fake.sock",
    removed,
    listContainers: async (f: string) => containers.filter((c) => matches(c.labels, f)),
    removeContainer: async (id: string) => void removed.push(id),
    listNetworks: async (f: string) => networks.filter((n) => matches(n.labels, f)),
    removeNetwork: async (id: string) => void removed.push(id),
  } as unknown as ContainerEngine & { removed: string[] };
}

describe("what repro --keep keeps", () => {
  it("is labelled with the repro id when DISTCHECK_KEEP is set, and only then", () => {
    const run = { runId: "repro-x-1", ownerPid: 1234, ownerHost: os.hostname() };
    expect(runLabels(run, {})).not.toHaveProperty(LABELS.kept);
    expect(runLabels(run, { [KEEP_VARIABLE]: "20260101T000000Z-abcdef" })).toMatchObject({ [LABELS.kept]: "20260101T000000Z-abcdef", [LABELS.run]: "repro-x-1" });
  });

  it("survives the end-of-run sweep of its own run and the sweep of dead runs; the rest of the run does not", async () => {
    const dead = { runId: "repro-x-1", ownerPid: 999_999_999, ownerHost: os.hostname() };
    const keptLabels = runLabels(dead, { [KEEP_VARIABLE]: "r1" });
    const plainLabels = runLabels(dead, {});
    const engine = () =>
      fakeEngine(
        [
          { id: "kept-host", name: "kept-host", state: "running", labels: keptLabels },
          { id: "probe", name: "probe", state: "exited", labels: plainLabels },
        ],
        [{ id: "kept-net", name: "kept-net", labels: keptLabels }],
      );
    const atEnd = engine();
    await sweep(atEnd, dead);
    expect(atEnd.removed).toEqual(["probe"]);
    const later = engine();
    await sweep(later);
    expect(later.removed).toEqual(["probe"]);
  });
});

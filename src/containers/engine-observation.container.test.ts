import { createHash } from "node:crypto";
import path from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { diffLayerSince, diffSnapshots, snapshotLayer, type FilesystemSnapshot, type SnapshotDiff } from "../../suites/support/filesystem-snapshot.ts";
import { expandCells, loadMatrix } from "../matrix/matrix-loader.ts";
import type { Cell } from "../matrix/matrix.ts";
import { PACKAGE_ROOT } from "../matrix/selection.ts";
import type { StartedCellContainer } from "./cell-container.ts";
import { TestcontainersCellFactory } from "./testcontainers-cell-factory.ts";

// The Engine API's answers about a container against what a process inside it says (find, test,
// cat, sha256sum, /proc): the native calls replace those processes, so they must agree with them,
// on both platforms (aarch64 under qemu-user).
const docker = new Docker();
const cells = expandCells(loadMatrix(path.join(PACKAGE_ROOT, "matrix.json"))).filter((c) => c.base.id === "bookworm" && c.host.id === "reference");

async function baseImage(cell: Cell): Promise<string> {
  const images = await docker.listImages({ filters: { label: ["dev.distcheck.image=base", `dev.distcheck.platform=${cell.platform.id}`, "dev.distcheck.recipe=bookworm"] } });
  const tag = images.flatMap((i) => i.RepoTags ?? []).find((t) => t.startsWith("distcheck/base-bookworm:"));
  if (!tag) throw new Error(`no ${cell.platform.id} bookworm base image: run \`npx distcheck images build --base-only\` first`);
  return tag;
}

/** The find-based whole-filesystem snapshot the suites used before (the oracle of diffLayerSince). */
async function findSnapshot(c: StartedCellContainer): Promise<FilesystemSnapshot> {
  const prune = ["/proc", "/sys", "/dev", "/tmp/distcheck-witness.jsonl", "/var/tmp/distcheck-harness"].flatMap((p) => ["-path", p, "-prune", "-o"]);
  const r = await c.exec(["find", "/", "-xdev", ...prune, "-printf", "%y\\0%s\\0%m\\0%T@\\0%l\\0%p\\0"]);
  const fields = r.stdout.split("\0");
  const snapshot: FilesystemSnapshot = new Map();
  for (let i = 0; i + 5 < fields.length; i += 6) {
    const [type, size, mode, mtime, target, p] = fields.slice(i, i + 6) as [string, string, string, string, string, string];
    snapshot.set(p, { type, size: Number(size), mode, mtime, target });
  }
  return snapshot;
}

/** A diff as path → what happened (and which fields changed, mtime left out: the two clocks print it differently). */
const summary = (d: SnapshotDiff): string[] =>
  [...d.added.map((c) => `+ ${c.path}`), ...d.removed.map((c) => `- ${c.path}`), ...d.changed.map((c) => `~ ${c.path} ${c.fields.filter((f) => f !== "mtime" && f !== "target").join(",")}`)].sort();

const sh = async (c: StartedCellContainer, script: string): Promise<string> => {
  const r = await c.exec(["sh", "-c", script]);
  if (r.exitCode !== 0) throw new Error(`${script}: ${r.stderr}`);
  return r.stdout;
};

const TREE = [
  "mkdir -p /tmp/t/sub /tmp/t/empty /tmp/elsewhere",
  "printf 'hello\\n' > /tmp/t/a.txt",
  "printf 'secret\\n' > /tmp/elsewhere/secret.txt",
  "head -c 70000 /dev/urandom > /tmp/t/sub/big.bin",
  "printf 'x' > '/tmp/t/sub/na me \u00e9'",
  "ln /tmp/t/a.txt /tmp/t/sub/hard.txt",
  "ln -s ../a.txt /tmp/t/sub/rel-link",
  "ln -s /tmp/elsewhere /tmp/t/abs-dir-link",
  "ln -s /etc/passwd /tmp/t/passwd-link",
  "ln -s /nowhere /tmp/t/dangling",
  "ln -s rel-link /tmp/t/sub/chain",
  "mkfifo /tmp/t/fifo",
  "chmod 4755 /tmp/t/a.txt",
  "chmod 1777 /tmp/t/empty",
].join(" && ");

describe("the start check, without a process in the container", () => {
  const factory = new TestcontainersCellFactory();
  // (An image of another machine cannot be started for a cell here: the engine refuses the platform
  // at create. The ELF reading that would name it is unit-tested in engine-observation.test.ts.)
  const x86 = cells.find((c) => c.platform.id === "linux-x86_64")!;

  it("a container whose command cannot run (docker-init's exec fails, the container stops) is container_start_failed with what it printed", async () => {
    const started = factory.start(x86, { image: await baseImage(x86), command: ["/nonexistent-distcheck-command"] });
    await expect(started).rejects.toMatchObject({ code: "container_start_failed", message: expect.stringMatching(/stopped right after it started.*nonexistent-distcheck-command/s) });
  }, 60_000);
});

describe.each(cells)("Engine API observation on $platform.id", (cell) => {
  let c: StartedCellContainer;
  const factory = new TestcontainersCellFactory();

  beforeAll(async () => {
    c = await factory.start(cell, { image: await baseImage(cell) });
    await sh(c, TREE);
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
  });

  it("the start check names the machine uname -m names", async () => {
    expect(c.machine).toBe(cell.platform.info.uname);
    expect((await sh(c, "uname -m")).trim()).toBe(c.machine);
  });

  it("stat, exists, isDirectory and readFile agree with find, test and cat, links included", async () => {
    const paths = ["/tmp/t", "/tmp/t/a.txt", "/tmp/t/sub", "/tmp/t/sub/hard.txt", "/tmp/t/sub/rel-link", "/tmp/t/abs-dir-link", "/tmp/t/passwd-link", "/tmp/t/dangling", "/tmp/t/sub/chain", "/tmp/t/fifo", "/tmp/t/empty", "/tmp/t/missing", "/tmp/t/abs-dir-link/secret.txt", "/sbin"];
    const lines = (await sh(c, `for p in ${paths.map((p) => `'${p}'`).join(" ")}; do if [ -e "$p" ] || [ -L "$p" ]; then find "$p" -maxdepth 0 -printf '%y %s %m ' ; else printf 'none - - '; fi; [ -e "$p" ] && printf 'e ' || printf '. '; [ -d "$p" ] && printf 'd ' || printf '. '; if [ -f "$p" ]; then sha256sum < "$p" | cut -c1-64; else echo -; fi; done`)).trim().split("\n");
    for (const [i, p] of paths.entries()) {
      const [type, size, mode, e, d, sha] = lines[i]!.split(" ");
      const st = await c.stat(p);
      expect(st ? `${st.type} ${st.type === "d" ? "-" : st.size} ${st.mode}` : "none - -", `stat ${p}`).toBe(type === "none" ? "none - -" : `${type} ${type === "d" ? "-" : size} ${mode}`);
      expect(await c.exists(p), `exists ${p}`).toBe(type !== "none");
      expect(await c.exists(p, { followSymlinks: true }), `test -e ${p}`).toBe(e === "e");
      expect(await c.isDirectory(p), `[ -d ${p} ]`).toBe(d === "d");
      const bytes = await c.readFileIfExists(p, { followSymlinks: true }).catch(() => undefined);
      expect(bytes === undefined ? "-" : createHash("sha256").update(bytes).digest("hex"), `cat ${p}`).toBe(sha);
    }
  });

  it("readTree with hashes gives what find and sha256sum give (hard links, odd names, 70 kB files)", async () => {
    const found = (await sh(c, "cd /tmp/t && find . -printf '%y %m %p\\n' | sort")).trim().split("\n");
    const tree = await c.readTree("/tmp/t", { hash: true });
    expect(tree.map((e) => `${e.type} ${e.mode} .${e.path.slice("/tmp/t".length)}`).sort()).toEqual(found);
    const sums = (await sh(c, "cd /tmp/t && find . -type f -print0 | sort -z | xargs -0 -r sha256sum")).trim().split("\n");
    const ours = tree.filter((e) => e.type === "f").map((e) => `${e.sha256}  .${e.path.slice("/tmp/t".length)}`).sort((a, b) => Buffer.compare(Buffer.from(a.slice(66)), Buffer.from(b.slice(66))));
    expect(ours).toEqual(sums);
    const sizes = (await sh(c, "cd /tmp/t && find . -type f -printf '%s %p\\n' | sort")).trim().split("\n");
    expect(tree.filter((e) => e.type === "f").map((e) => `${e.size} .${e.path.slice("/tmp/t".length)}`).sort()).toEqual(sizes);
  });

  it("readTree without hashes reads the merged overlay here, and gives exactly the records of the engine's tar", async () => {
    await sh(c, "mkdir -p /tmp/t/sub/deeper && touch -d '2026-01-01 00:00:00.987654321' /tmp/t/sub/big.bin && ln /tmp/t/sub/big.bin /tmp/t/sub/deeper/hard2 && python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('/tmp/t/sock')\"");
    const archived = (root: string) => (c as unknown as { archiveTree(r: string): Promise<unknown> }).archiveTree(root);
    const viaArchive = vi.spyOn(c as unknown as { archiveTree(r: string): Promise<unknown> }, "archiveTree");
    try {
      const local = await c.readTree("/tmp/t");
      expect(viaArchive, "read from the merged overlay, not the archive endpoint").not.toHaveBeenCalled();
      expect(local).toEqual(await archived("/tmp/t"));
      expect(local.map((e) => e.path)).not.toContain("/tmp/t/sock");
      expect(local.find((e) => e.path === "/tmp/t/sub/deeper/hard2")).toMatchObject({ type: "f", target: "t/sub/big.bin", size: 70000 });
      // A file is its own tree; a missing one is container_file_missing, as from the engine.
      expect(await c.readTree("/tmp/t/a.txt")).toEqual(await archived("/tmp/t/a.txt"));
      await expect(c.readTree("/tmp/t/missing")).rejects.toMatchObject({ code: "container_file_missing" });
      // A tree with a file the engine mounts (/etc/hosts) is not all in the overlay: read from the engine.
      viaArchive.mockClear();
      expect((await c.readTree("/etc")).map((e) => e.path)).toContain("/etc/hosts");
      expect(viaArchive).toHaveBeenCalledTimes(1);
    } finally {
      viaArchive.mockRestore();
      await sh(c, "rm -rf /tmp/t/sub/deeper /tmp/t/sock");
    }
  });

  it("readFile with reuseIfUnchanged hands back what the file holds now: appended, rewritten, removed", async () => {
    const f = "/tmp/reuse.jsonl";
    await sh(c, `printf 'one\\n' > ${f}`);
    const read = (): Promise<string | undefined> => c.readFileIfExists(f, { reuseIfUnchanged: true }).then((b) => b?.toString("utf8"));
    expect(await read()).toBe("one\n");
    expect(await read(), "unchanged").toBe("one\n");
    await sh(c, `printf 'two\\n' >> ${f}`);
    expect(await read(), "appended").toBe("one\ntwo\n");
    // Same size, new content and mtime: a rewrite is read again.
    await sh(c, `printf 'uno\\ndos\\n' > ${f}`);
    expect(await read(), "rewritten").toBe("uno\ndos\n");
    await sh(c, `rm ${f}`);
    expect(await read(), "removed").toBeUndefined();
  });

  it("attach() keeps a process's stdin and output open to the harness, and its end is its exit", async () => {
    const proc = await c.attach(["sh", "-c", 'read a; echo "got $a"; read b; echo "got $b"; exit 3']);
    let out = "";
    proc.onOutput((text) => (out += text));
    proc.write("one\n");
    for (let i = 0; i < 200 && !out.includes("got one"); i++) await new Promise((r) => setTimeout(r, 25));
    expect(out, "answered before its stdin closed").toBe("got one\n");
    proc.write("two\n");
    expect(await proc.exit).toBe(3);
    expect(out).toBe("got one\ngot two\n");
  });

  it("processes() lists what ps in the container lists, with its state", async () => {
    await sh(c, "sleep 300 >/dev/null 2>&1 & true");
    // Under qemu the sleep is still running its start-up for a moment (R); then it sleeps (S).
    let listed = await c.processes();
    for (let i = 0; i < 100 && listed.find((p) => /\bsleep 300$/.test(p.command))?.state !== "S"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      listed = await c.processes();
    }
    expect(listed.filter((p) => /\bsleep 300$/.test(p.command)).map((p) => p.state)).toEqual(["S"]);
    expect(listed.some((p) => /docker-init/.test(p.command))).toBe(true);
  });

  it("the whole-filesystem diff from changes + stats + the image equals the diff of two find snapshots", async () => {
    await sh(c, "mkdir -p /var/tmp/distcheck-harness && printf 'seed\\n' > /etc/distcheck-seed && touch /tmp/kept");
    const before = await snapshotLayer(c);
    // The same snapshots where the engine's storage cannot be read here: every folder of the image is stat-ed.
    const remote: StartedCellContainer = Object.assign(Object.create(c) as StartedCellContainer, { layerDirectories: async () => undefined });
    const beforeRemote = await snapshotLayer(remote);
    const findBefore = await findSnapshot(c);
    // Acting: an added file, an image file rewritten, one only touched, one chmod-ed, one deleted, a
    // file added and removed again (its folder's mtime moves), a new folder, the seed changed.
    await new Promise((r) => setTimeout(r, 1100));
    await sh(c, "printf 'new\\n' > /etc/distcheck-new && printf '# x\\n' >> /etc/debian_version && touch /etc/issue && chmod 600 /etc/issue.net && rm /etc/motd && touch /usr/local/tmpfile && rm /usr/local/tmpfile && mkdir -p /opt/distcheck/deep && printf 'changed\\n' > /etc/distcheck-seed && rm /tmp/kept && rm -r /etc/skel");
    const ours = await diffLayerSince(c, before);
    expect(summary(await diffLayerSince(remote, beforeRemote)), "with every folder of the image stat-ed").toEqual(summary(ours));
    // Read on this machine (a local engine, run as root): the container's own folders, not the image's thousand.
    const layer = await c.layerDirectories();
    expect(layer, "the overlay upper directory was read").toBeDefined();
    expect(layer).toEqual(expect.arrayContaining(["/etc", "/usr/local", "/opt/distcheck/deep"]));
    expect(layer).not.toContain("/usr/lib");
    expect(layer!.length).toBeLessThan((await c.imageDirectories()).length / 10);
    const oracle = diffSnapshots(findBefore, await findSnapshot(c));
    // One difference, in what is listed and never in whether anything is: of a folder of the image
    // removed whole, the engine names the folder alone, find each path that was in it.
    const inRemovedFolder = (p: string): boolean => oracle.removed.some((r) => r.before.type === "d" && p.startsWith(`${r.path}/`));
    expect(summary(ours)).toEqual(summary({ ...oracle, removed: oracle.removed.filter((r) => !inRemovedFolder(r.path)) }));
    expect(oracle.removed.filter((r) => inRemovedFolder(r.path)).length, "find listed what /etc/skel held").toBeGreaterThan(0);
    expect(summary(ours), "the scenario changes something").toEqual(expect.arrayContaining(["+ /etc/distcheck-new", "- /etc/motd", "- /tmp/kept", "+ /opt/distcheck", "~ /etc/issue.net mode", "- /etc/skel", "~ /usr/local "]));
    expect(await c.imageStats(["/etc/motd", "/nope"])).toEqual(new Map([["/etc/motd", expect.objectContaining({ type: "f" })], ["/nope", undefined]]));
  }, 120_000);
});

import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseNaiveOutput } from "./naive-part.ts";

// naive-loop.sh against stand-ins for docker and curl (no engine): what it reports per case, and
// that a failed comparison is the case's failure, not the loop's. jq is the real one.
const dir = mkdtempSync(path.join(tmpdir(), "naive-loop-"));
const bin = path.join(dir, "bin");
mkdirSync(bin);
const script = (name: string, body: string): void => {
  writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(path.join(bin, name), 0o755);
};
// docker: `run` prints a container id, `inspect` an address, `cp` reads its tar, everything else succeeds; each call is logged.
script("docker", `echo "$*" >> "${dir}/docker.log"; case "$1" in run) echo c0ffee;; inspect) echo 10.0.0.2;; cp) cat > /dev/null;; esac; exit 0`);
// curl: writes the listing to -o (stdout without it) and the status for -w; readiness probes succeed.
script("curl", `out=""; w=""; while [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift;; -w) w=1; shift;; esac; shift; done; body='[{"id":"dev.distcheck.a"},{"id":"dev.distcheck.b"}]'; if [ -n "$out" ]; then printf '%s' "$body" > "$out"; else printf '%s' "$body"; fi; [ -n "$w" ] && printf 200; exit 0`);

function writeCase(name: string, expect: string): string {
  const c = path.join(dir, name);
  mkdirSync(path.join(c, "files", "fixtures"), { recursive: true });
  writeFileSync(path.join(c, "files", "fixtures", "x.whl"), "wheel");
  writeFileSync(path.join(c, "case.env"), [`NAME=${name}`, "CELL=linux-x86_64.bookworm.reference", "IMAGE=host:1", "PLATFORM=linux/amd64", "QEMU_CPU=", "PORT=8765", "PIDFILE=/run/host.pid", "HOST_CMD='distcheck-host serve'", "BOOT_TIMEOUT=5"].join("\n"));
  writeFileSync(path.join(c, "steps"), ["pip\tinstall --no-index /fixtures/x.whl", "boot", `call\tGET\t/api/extensions\t-\t^200$\t[.[].id] | join(",")\t${expect}`].join("\n"));
  return c;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("naive-loop.sh", () => {
  it("reports every phase of every case, its wall time and whether its comparison held", () => {
    const pass = writeCase("case-001", "^dev\\.distcheck\\.a,dev\\.distcheck\\.b$");
    const fail = writeCase("case-002", "^dev\\.distcheck\\.a$");
    const out = execFileSync("bash", [path.join(import.meta.dirname, "naive-loop.sh"), pass, fail], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NAIVE_LABELS: "dev.distcheck.run=r1" }, encoding: "utf8" });
    const cases = parseNaiveOutput(out);
    const first = cases.get("case-001")!;
    expect(first.result).toBe("pass");
    // Each phase is reported, also those whose command's own output goes elsewhere (image, install, teardown).
    for (const phase of ["image", "container", "install", "boot", "assertions", "teardown"] as const) expect(out).toMatch(new RegExp(`^case\\tcase-001\\tphase\\t${phase}\\t\\d+$`, "m"));
    expect(first.wallMs).toBeGreaterThanOrEqual(0);
    expect(cases.get("case-002")).toMatchObject({ result: "fail", detail: expect.stringContaining("gave 'dev.distcheck.a,dev.distcheck.b', expected ^dev\\.distcheck\\.a$") });
    const docker = readFileSync(path.join(dir, "docker.log"), "utf8");
    expect(docker).toMatch(/^run -d --rm --platform linux\/amd64 .*--label dev\.distcheck\.run=r1 --label dev\.distcheck\.cell=linux-x86_64\.bookworm\.reference --label dev\.distcheck\.bench-case=case-001 host:1 sleep infinity$/m);
    expect(docker).toMatch(/^exec c0ffee python3 -m pip install --no-index \/fixtures\/x\.whl$/m);
    expect(docker.match(/^rm -f c0ffee$/gm)).toHaveLength(2);
  });
});

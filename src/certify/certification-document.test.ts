import { describe, expect, it } from "vitest";
import { certifyExitCode, deriveVerdict, type Finding } from "./certification-document.ts";
import { renderMarkdown } from "./certification-markdown.ts";

const finding = (over: Partial<Finding>): Finding => ({
  checkId: "x.check",
  clause: "WHL-01",
  cell: "static",
  subject: "a.whl",
  severity: "error",
  status: "pass",
  title: "t",
  detail: "d",
  evidence: {},
  reproduce: "r",
  ...over,
});

describe("deriveVerdict", () => {
  const pass = finding({});
  const error = finding({ checkId: "e", status: "fail" });
  const warning = finding({ checkId: "w", status: "fail", severity: "warning" });
  const invalid = finding({ checkId: "i", status: "fail", invalidatesArtifact: true });
  const harness = finding({ checkId: "h", status: "harness-error" });
  const info = finding({ checkId: "n", status: "fail", severity: "info" });

  it("applies the documented precedence: invalid artifact, not certified, incomplete, warnings, certified", () => {
    expect(deriveVerdict([pass, warning, harness, error, invalid], ["c"], [])).toBe("INVALID_ARTIFACT");
    expect(deriveVerdict([pass, warning, harness, error], ["c"], [])).toBe("NOT_CERTIFIED");
    expect(deriveVerdict([pass, warning, harness], [], [])).toBe("INCOMPLETE");
    expect(deriveVerdict([pass, warning], ["c"], [])).toBe("INCOMPLETE");
    expect(deriveVerdict([pass, warning], ["c"], ["c"])).toBe("CERTIFIED_WITH_WARNINGS");
    expect(deriveVerdict([pass, info], ["c", "d"], ["d", "c"])).toBe("CERTIFIED");
    expect(deriveVerdict([], [], [])).toBe("CERTIFIED");
  });

  it("counts a matrix with cells executed that were never declared as incomplete too", () => {
    expect(deriveVerdict([pass], [], ["c"])).toBe("INCOMPLETE");
  });

  it("maps verdicts to the certify exit codes, --strict turning warnings into 1", () => {
    expect(["CERTIFIED", "CERTIFIED_WITH_WARNINGS", "NOT_CERTIFIED", "INVALID_ARTIFACT", "INCOMPLETE"].map((v) => certifyExitCode(v as never))).toEqual([0, 0, 1, 3, 4]);
    expect(certifyExitCode("CERTIFIED_WITH_WARNINGS", { strict: true })).toBe(1);
    expect(certifyExitCode("CERTIFIED", { strict: true })).toBe(0);
  });
});

describe("renderMarkdown", () => {
  it("leads with the verdict, lists problems before passes, and escapes table cells", () => {
    const md = renderMarkdown({
      schemaVersion: 1,
      tool: { name: "distcheck", version: "1.2.3", commit: "abc" },
      contract: { version: "1.0.0", sha256: "f".repeat(64) },
      host: { id: "reference" },
      generatedAt: "2025-01-01T00:00:00.000Z",
      subjects: [{ file: "a.whl", kind: "wheel", format: "whl", sha256: "0".repeat(64), size: 1, name: "a", version: "1" }],
      matrix: { declared: ["linux-x86_64.trixie.reference"], executed: [] },
      findings: [finding({ checkId: "ok.check" }), finding({ checkId: "bad.check", status: "fail", detail: "a | b" })],
      verdict: "NOT_CERTIFIED",
    });
    expect(md.startsWith("# Certification: NOT_CERTIFIED\n")).toBe(true);
    expect(md.indexOf("`bad.check`")).toBeLessThan(md.indexOf("`ok.check`"));
    expect(md).toContain("a \\| b");
    expect(md).toContain("- not executed: linux-x86_64.trixie.reference");
    expect(md).toContain("distcheck 1.2.3 (commit abc)");
  });
});

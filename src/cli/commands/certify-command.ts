import type { Command } from "commander";
import { ArtifactError, CERTIFY_EXIT } from "../../certify/index.ts";
import { runCertification } from "../../certify/certify-run.ts";
import { isDistcheckError } from "../../errors/distcheck-error.ts";
import { collect, onSignals, out, progress } from "../context.ts";

interface CertifyCliOptions {
  host: string;
  platform?: string[];
  python?: string[];
  matrix?: string;
  deps?: string;
  previous?: string;
  signKey?: string;
  out: string;
  strict?: boolean;
  json?: boolean;
}

/** `distcheck certify ARTIFACT...`: static and dynamic checks, a verdict, optionally a signed bundle. */
export function registerCertifyCommand(program: Command): void {
  program
    .command("certify")
    .description("certify a wheel or archive extension: static checks of its bytes, then installed and run on every cell of a host; writes a verdict and, with --sign-key, a signed bundle")
    .argument("<artifact...>", "the artifact (.whl, .tar.gz, .tgz, .zip); several platform-named archives of one extension are certified together (ARC-12 picks per platform)")
    .option("--host <id>", "the host of the matrix to certify against", "reference")
    .option("--platform <id>", "only these platforms (repeatable or comma-separated)", collect)
    .option("--python <version>", "only these bases, by Python version or base id", collect)
    .option("--matrix <file>", "matrix file")
    .option("--deps <dir>", "a folder of wheels the artifact's dependencies install from (pip --no-index --find-links)")
    .option("--previous <artifact>", "an older release of the archive to upgrade from (ARC-14 carry-over, ARC-16)")
    .option("--sign-key <pem>", "ed25519 private key (PEM): also write certification.tar.gz, a signed bundle `distcheck verify` checks offline")
    .option("--out <dir>", "where certification.json, certification.md, junit.xml and the bundle go", "reports/certify/latest")
    .option("--strict", "exit 1 for CERTIFIED_WITH_WARNINGS")
    .option("--json", "print the verdict document as JSON on stdout")
    .addHelpText(
      "after",
      `
Verdicts: CERTIFIED, CERTIFIED_WITH_WARNINGS, NOT_CERTIFIED, INVALID_ARTIFACT, INCOMPLETE (a declared
cell did not run to the end, or a check could not be carried out).

Exit codes: 0 certified (with warnings unless --strict); 1 not certified; 2 usage (bad option, unreadable
key, a host that cannot run this kind of artifact); 3 invalid or unreadable artifact; 4 infrastructure
(engine, qemu, image build, a declared cell not run).

Examples:
  distcheck certify dist/my_ext-1.0.0-py3-none-any.whl --host toposync --deps wheels/
  distcheck certify my-ext-linux-x86_64.tar.gz my-ext-linux-aarch64.tar.gz --sign-key key.pem
  distcheck verify reports/certify/latest/certification.tar.gz --key key.pub.pem`,
    )
    .action(async (artifacts: string[], opts: CertifyCliOptions) => {
      try {
        const [result] = await runCertification({
          requests: [{ artifacts, ...(opts.previous ? { previous: opts.previous } : {}), ...(opts.deps ? { deps: opts.deps } : {}) }],
          host: opts.host,
          platform: opts.platform,
          python: opts.python,
          matrix: opts.matrix,
          signKey: opts.signKey,
          out: opts.out,
          strict: opts.strict,
          // With --json stdout is the document alone: the suite's own output goes to stderr.
          suiteOutputToStderr: Boolean(opts.json),
          progress,
          interrupts: onSignals,
        });
        const r = result!;
        if (opts.json) out(`${JSON.stringify(r.document, null, 2)}\n`);
        else {
          const failed = r.document.findings.filter((f) => f.status === "fail" || f.status === "harness-error");
          for (const f of failed) out(`  ${f.severity.padEnd(7)} ${f.status === "harness-error" ? "harness-error " : ""}${f.checkId} (${f.clause}, ${f.cell}): ${f.detail.replace(/\s*\n\s*/g, " | ")}\n`);
          out(`${r.document.verdict}: ${r.document.subjects.map((s) => `${s.file} (sha256 ${s.sha256.slice(0, 12)})`).join(", ")} on ${r.document.matrix.executed.length}/${r.document.matrix.declared.length} cell(s) of ${r.document.host.id}\n`);
          out(`written: ${r.files.map((f) => `${r.dir}/${f}`).join(", ")}\n`);
          if (r.bundle) out(`bundle: ${r.bundle.path} sha256 ${r.bundle.sha256} key ${r.bundle.keyId}\n`);
        }
        process.exitCode = r.exitCode;
      } catch (error) {
        // An unreadable or unrecognised artifact is exit 3; other input errors stay usage (2).
        if (error instanceof ArtifactError) {
          process.stderr.write(`distcheck: error [${error.code}]: ${error.message}\n`);
          process.exitCode = CERTIFY_EXIT.invalidArtifact;
          return;
        }
        if (isDistcheckError(error) && error.category === "infrastructure") {
          process.stderr.write(`distcheck: error [${error.code}]: ${error.message}\n`);
          process.exitCode = CERTIFY_EXIT.infrastructure;
          return;
        }
        throw error;
      }
    });
}

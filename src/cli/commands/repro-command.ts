import type { Command } from "commander";
import { isDistcheckError } from "../../errors/distcheck-error.ts";
import { exitCodeOf } from "../../run/exit-codes.ts";
import { reproText } from "../../repro/repro-text.ts";
import { openShell, runRepro } from "../../repro/repro.ts";
import { cleanKept } from "../../repro/kept-host.ts";
import { bundleReplayText, replayBundleCell } from "../../repro/bundle-replay.ts";
import { ReproInputError } from "../../repro/repro-errors.ts";
import { certificationReplayText, replayCertificationCell } from "../../repro/certification-replay.ts";
import { artifactReplayText, replayArtifact, wantsArtifactReplay } from "../../repro/artifact-replay.ts";
import { enginesFor, select } from "../../matrix/selection.ts";
import { onSignals, out, progress } from "../context.ts";

interface ReproFlags {
  from?: string;
  lastFailed?: boolean;
  cell?: string;
  repeat: number;
  allowDifferentImage?: boolean;
  reports: string;
  matrix?: string;
  json?: boolean;
  keep?: boolean;
  shell?: boolean;
  clean?: boolean;
  bundle?: string;
  key?: string;
  host?: string;
  platform?: string;
  python?: string;
  artifact?: string[];
  deps?: string;
  previous?: string;
}

export function registerReproCommand(program: Command): void {
  program
    .command("repro")
    .description("replay a failing test of a published run on its cell (same image, mutant, host), N times, and classify it: fails every time, flaky, or does not reproduce")
    .argument("[test]", "the test: its id (as `repro` lists them; the record's file name under results/distcheck/), `<cell>: <name>`, its name, or part of its full name")
    .option("--from <dir>", "the published run the test failed in: reports/<run-id> or reports/latest (default with --last-failed: the newest run)")
    .option("--last-failed", "replay every failing test of the run")
    .option("--cell <id>", "only the test(s) of this cell (e.g. linux-aarch64.trixie.reference), for a name several cells ran")
    .option("--repeat <n>", "tries per test; each runs once, with no retries", (v) => Number(v), 1)
    .option("--allow-different-image", "replay even when an image is not the one the run recorded (rebuilt, or its recipe changed); the differences are printed as warnings")
    .option("--reports <dir>", "where published runs are; the trace goes to <dir>/repro/<id>/", "reports")
    .option("--matrix <file>", "matrix file")
    .option("--keep", "leave the host of the newest failed try (else the newest try) running as the test left it (labelled kept: no sweep removes it) and print the docker exec line, the host's URL and how to remove it")
    .option("--shell", "after the tries, open an interactive shell in the kept container (implies --keep; needs a terminal)")
    .option("--clean", "remove what --keep left: every kept container and network, or those of the repro id given as the argument")
    .option("--bundle <file>", "replay a cell of a signed bundle: a sign-off bundle (distcheck run --bundle), or a certification (distcheck certify --sign-key) with --artifact; needs --key and --cell")
    .option("--key <pem>", "the bundle signer's public key (PEM); the bundle is verified before anything runs")
    .option("--host <id>", "replay an artifact instead of a recorded test: the host of the one cell to certify it on (with --platform, --python, --artifact)")
    .option("--platform <id>", "the cell's platform (e.g. linux-aarch64), with --host")
    .option("--python <version>", "the cell's base, by Python version or base id (e.g. 3.13), with --host")
    .option("--artifact <file>", "the wheel or archive to certify on that cell, with --host; with --bundle, the artifact a certification bundle certifies (its sha256 must match; repeat for each)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--deps <dir>", "with --artifact: a folder of wheels its dependencies install from")
    .option("--previous <artifact>", "with --bundle of a certification: the older release its upgrade was certified from")
    .option("--json", "print the result as JSON on stdout (vitest's output of each try stays in the trace)")
    .addHelpText(
      "after",
      `
Each try is one vitest process on the test's file with -t its exact name, narrowed to its cell,
with the run's mutant (recorded in the run's environment), in a run of its own whose containers are
removed when it ends. Before the first try, the images the run recorded for the cell (tags and ids)
are compared with the engine's and with today's recipe: a recorded image that is gone is
image_missing, one that was rebuilt or whose recipe changed is image_differs; both print the command
that rebuilds it, and --allow-different-image replays anyway.

Each try writes <reports>/repro/<id>/<test-id>/try-<n>/: vitest.log, record.json (the test's record:
state, errors, host log and other attachments) and command.sh (the command line of the replay and of
this try alone). The verdict compares each failure with the recorded one (the first error's code,
else its first line with numbers masked) and shows the timing factor each try measured.

--keep leaves the host of the newest failed try (of the newest try when none failed) running in its
container as the test left it at the failure (its teardown skipped; the other tries' are removed;
containers and networks labelled dev.distcheck.kept=<repro-id>, which no run's sweep removes) and prints
\`docker exec -it <container> sh\`, the host's URL on the run network and \`distcheck repro --clean
<repro-id>\`. --shell opens that shell itself once the result is printed (refused without a terminal:
no_tty). \`distcheck repro --clean\` removes every kept container and network.

--bundle FILE --key PUB.pem --cell ID replays one cell of a signed sign-off bundle: the bundle is
verified first (bundle_invalid with the verifier's code otherwise), the cell's host image is compared
with the id the bundle names (image_missing, image_differs), then the cell's test files run once on
it and each test's state and the cell's verdict (pass, fail, harness-error) are compared with the
bundle's. Its exit code: 0 the same verdict, 1 another; 2 and 3 as below.

--bundle FILE --key PUB.pem --cell ID --artifact FILE [--deps DIR] [--previous FILE] [--repeat N]
replays one cell of a signed certification bundle (distcheck certify --sign-key). A bundle names the
artifact by sha256 but does not carry it: give it again with --artifact (once per artifact it
certifies; another file is artifact_mismatch). After the bundle and the cell's image are checked as
above, each try certifies the artifact on that cell alone (outputs and command.sh in
<reports>/repro/<id>/certification/try-<n>/) and compares the try's verdict with the bundle's verdict
for that cell (its findings with the static ones) and lists every finding whose status differs. The
bundle does not record --deps or --previous: give them as the certification had them. Exit 0 when
every try gives the bundle's verdict, 1 when one does not.

--host ID --platform ID --python V --artifact FILE [--deps DIR] asks "does this artifact fail on that
cell?" with no published run: each try is one \`distcheck certify\` of the artifact narrowed to that one
cell (the flags must name exactly one cell of the matrix, else cell_not_found), its outputs
(certification.json, .md, junit.xml) and command.sh in <reports>/repro/<id>/artifact/try-<n>/. A try
fails when its verdict is NOT_CERTIFIED; the result lists each try's failing finding ids
(<check-id>@<cell>) and whether they are the same each time. INCOMPLETE is infrastructure
(certification_incomplete), INVALID_ARTIFACT input (artifact_invalid); artifact_missing and the other
artifact errors are certify's. Not combined with --from, --bundle, --last-failed, --cell or --keep.

Exit codes: 0 no try failed (does not reproduce); 1 a try failed (fails every time, or flaky: k of
N); 2 bad input (run_not_found, test_not_found, test_ambiguous, cell_not_found, repro_usage,
bundle_invalid, artifact_invalid, artifact_missing, artifact_mismatch); 3 infrastructure (image_missing, image_differs, test_not_run,
certification_incomplete, engine); 130 interrupted.

Examples:
  distcheck repro --from reports/latest 7ce78932fc9f --repeat 3
  distcheck repro --from reports/20261130T132513Z-ae1e5d "linux-x86_64.bookworm.reference: ARC-09: a manifest with 21 keywords (one over the limit of 20) is refused with manifest_invalid and installs nothing"
  distcheck repro --last-failed --json
  distcheck repro --host reference --platform linux-aarch64 --python 3.13 --artifact dist/my_ext-1.0.0-py3-none-any.whl --repeat 3
  distcheck repro --bundle out/certification.tar.gz --key signer.pub.pem --cell linux-aarch64.trixie.reference --artifact dist/my_ext-1.0.0-py3-none-any.whl`,
    )
    .action(async (test: string | undefined, opts: ReproFlags) => {
      if (opts.clean) {
        const endpoints = new Set<string>();
        const removed = { containers: [] as string[], networks: [] as string[] };
        for (const { engine } of enginesFor(select({ matrix: opts.matrix }).matrix)) {
          if (endpoints.has(engine.endpoint)) continue;
          endpoints.add(engine.endpoint);
          const r = await cleanKept(engine, test);
          removed.containers.push(...r.containers);
          removed.networks.push(...r.networks);
        }
        out(opts.json ? `${JSON.stringify({ ok: true, removed }, null, 2)}\n` : `removed ${removed.containers.length} kept container(s)${removed.containers.length ? ` (${removed.containers.join(", ")})` : ""} and ${removed.networks.length} network(s)\n`);
        return;
      }
      try {
        const artifact = opts.artifact?.length === 1 ? opts.artifact[0] : undefined;
        if (wantsArtifactReplay({ ...opts, artifact: opts.artifact?.[0], test })) {
          if (!artifact) throw new ReproInputError("repro_usage", `--host --platform --python replays one artifact; got ${opts.artifact?.length} --artifact. Replay each on its own.`);
          const replay = await replayArtifact({ host: opts.host!, platform: opts.platform!, python: opts.python!, artifact, deps: opts.deps, matrix: opts.matrix, reports: opts.reports, repeat: opts.repeat, progress, interrupts: onSignals });
          out(opts.json ? `${JSON.stringify({ ok: true, ...replay }, null, 2)}\n` : artifactReplayText(replay));
          process.exitCode = replay.exitCode;
          return;
        }
        if (opts.bundle) {
          if (!opts.key || !opts.cell) throw new ReproInputError("repro_usage", "--bundle needs --key PUB.pem (the signer's public key) and --cell ID (e.g. linux-x86_64.bookworm.reference).");
          if (opts.artifact) {
            const replay = await replayCertificationCell({ bundle: opts.bundle, key: opts.key, cell: opts.cell, artifacts: opts.artifact, deps: opts.deps, previous: opts.previous, reports: opts.reports, matrix: opts.matrix, repeat: opts.repeat, allowDifferentImage: opts.allowDifferentImage, progress, interrupts: onSignals });
            out(opts.json ? `${JSON.stringify({ ok: true, ...replay }, null, 2)}\n` : certificationReplayText(replay));
            process.exitCode = replay.exitCode;
            return;
          }
          const replay = await replayBundleCell({ bundle: opts.bundle, key: opts.key, cell: opts.cell, reports: opts.reports, matrix: opts.matrix, allowDifferentImage: opts.allowDifferentImage, progress, echo: opts.json ? undefined : (text) => process.stderr.write(text) });
          out(opts.json ? `${JSON.stringify({ ok: true, ...replay }, null, 2)}\n` : bundleReplayText(replay));
          process.exitCode = replay.exitCode;
          return;
        }
        const result = await runRepro({
          from: opts.from,
          test,
          lastFailed: opts.lastFailed,
          cell: opts.cell,
          repeat: opts.repeat,
          allowDifferentImage: opts.allowDifferentImage,
          reports: opts.reports,
          matrix: opts.matrix,
          progress,
          echo: opts.json ? undefined : (text) => process.stderr.write(text),
          keep: opts.keep,
          shell: opts.shell,
          tty: Boolean(process.stdin.isTTY && process.stdout.isTTY),
          interrupts: onSignals,
        });
        out(opts.json ? `${JSON.stringify({ ok: true, ...result }, null, 2)}\n` : reproText(result));
        process.exitCode = result.exitCode;
        if (opts.shell && result.exitCode !== 130) {
          progress("opening a shell in the kept container; leave it with exit (the container stays until `distcheck repro --clean`)");
          openShell(result);
        }
      } catch (error) {
        if (!opts.json || !isDistcheckError(error)) throw error;
        out(`${JSON.stringify({ ok: false, code: error.code, category: error.category, message: error.message }, null, 2)}\n`);
        process.stderr.write(`distcheck: error [${error.code}]: ${error.message}\n`);
        process.exitCode = exitCodeOf(error.category);
      }
    });
}

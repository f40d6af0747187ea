import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { BundleVerificationError, SigningKeyError, verifyBundle } from "../../certify/index.ts";
import { DistcheckError } from "../../errors/distcheck-error.ts";

/** Exit codes of `distcheck verify`. */
export const VERIFY_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

async function readInput(path: string, what: "bundle" | "key"): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (what === "key") throw new SigningKeyError("key_unreadable", `cannot read the key ${path} (${reason}). Give the signer's public key in PEM.`, { cause: error });
    throw new DistcheckError("bundle_missing", `cannot read the bundle ${path} (${reason}). Give the path of a certification bundle (.tar.gz).`, { cause: error, category: "input" });
  }
}

/** `distcheck verify BUNDLE --key PUB.pem [--json]`: offline, exit 0 verified, 1 not, 2 usage or an unreadable key. */
export function registerVerifyCommand(program: Command): void {
  program
    .command("verify")
    .description("verify a certification bundle offline: signature, subject digests, every file against SHA256SUMS, and the verdict")
    .argument("<bundle>", "the certification bundle (.tar.gz)")
    .requiredOption("--key <pem>", "the signer's ed25519 public key (PEM)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      `
Exit codes: 0 the bundle verified; 1 it did not (the code names what broke: signature_invalid,
key_mismatch, subject_digest_mismatch, file_digest_mismatch, file_unlisted, file_missing,
verdict_mismatch, bundle_unreadable); 2 usage, an unreadable bundle path or key (key_unreadable,
key_not_ed25519).`,
    )
    .action(async (bundlePath: string, opts: { key: string; json?: boolean }) => {
      const key = await readInput(opts.key, "key");
      const bundle = await readInput(bundlePath, "bundle");
      try {
        const verified = verifyBundle(bundle, key);
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, bundle: bundlePath, ...verified }, null, 2)}\n`);
        else process.stdout.write(`verified: ${bundlePath}: ${verified.verdict} for ${verified.subjects.map((s) => `${s.name} (sha256 ${s.digest.sha256})`).join(", ")}; signed by key ${verified.keyId}; ${verified.files.length} files\n`);
        process.exitCode = VERIFY_EXIT.ok;
      } catch (error) {
        // Key problems are usage errors (exit 2, printed by main); everything else the bundle caused is a failed verification.
        if (!(error instanceof BundleVerificationError)) throw error;
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: false, bundle: bundlePath, code: error.code, file: error.file ?? null, message: error.message }, null, 2)}\n`);
        else process.stderr.write(`distcheck: verification failed [${error.code}]: ${error.message}\n`);
        process.exitCode = VERIFY_EXIT.failed;
      }
    });
}

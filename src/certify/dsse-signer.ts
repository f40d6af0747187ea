import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { BundleVerificationError, SigningKeyError } from "./certify-errors.ts";
import { sha256Hex } from "./sha256-sums.ts";

/**
 * DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse protocol v1.0.0) with ed25519 keys from
 * `node:crypto`. The only encoding written here is the spec's PAE; signing and verifying are Node's.
 */

/** The payload type of an in-toto Statement in a DSSE envelope. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

export interface DsseSignature {
  /** SHA-256 (hex) of the signer's public key in SPKI DER: a hint for picking the key, never trusted on its own. */
  keyid: string;
  /** Base64 of the ed25519 signature over PAE(payloadType, payload). */
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** Base64 of the serialized payload. */
  payload: string;
  signatures: DsseSignature[];
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal bytes. */
export function pae(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, "ascii"), type, Buffer.from(` ${body.length} `, "ascii"), body]);
}

function ed25519(key: KeyObject, source: string): KeyObject {
  if (key.asymmetricKeyType !== "ed25519") throw new SigningKeyError("key_not_ed25519", `${source} is a ${key.asymmetricKeyType ?? "symmetric"} key; certification bundles are signed with ed25519 (openssl genpkey -algorithm ed25519 -out key.pem).`);
  return key;
}

/** An ed25519 private key from PEM; `key_unreadable` when it is not a PEM private key, `key_not_ed25519` for another algorithm. */
export function loadPrivateKey(pem: string | Buffer, source = "the signing key"): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    throw new SigningKeyError("key_unreadable", `${source} is not a readable PEM private key (${(error as Error).message}). Give an unencrypted PKCS#8 ed25519 key, e.g. from openssl genpkey -algorithm ed25519.`, { cause: error });
  }
  return ed25519(key, source);
}

/** An ed25519 public key from PEM (a private key's PEM gives its public half). */
export function loadPublicKey(pem: string | Buffer, source = "the verification key"): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (error) {
    throw new SigningKeyError("key_unreadable", `${source} is not a readable PEM public key (${(error as Error).message}). Give the signer's public key, e.g. from openssl pkey -in key.pem -pubout.`, { cause: error });
  }
  return ed25519(key, source);
}

/** SHA-256 (hex) of the public key's SPKI DER encoding; the same for a private key and its public half. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  return sha256Hex(publicKey.export({ type: "spki", format: "der" }));
}

export function signEnvelope(payload: Buffer, privateKey: KeyObject, payloadType = IN_TOTO_PAYLOAD_TYPE): DsseEnvelope {
  const sig = sign(null, pae(payloadType, payload), privateKey);
  return { payloadType, payload: payload.toString("base64"), signatures: [{ keyid: keyIdOf(privateKey), sig: sig.toString("base64") }] };
}

/** The envelope as the bundle stores it; verification accepts only this exact form. */
export function serializeEnvelope(envelope: DsseEnvelope): string {
  const ordered: DsseEnvelope = { payloadType: envelope.payloadType, payload: envelope.payload, signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })) };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64 (standard or URL-safe, as DSSE allows): Node's decoder skips characters outside the
 * alphabet, so without this a changed byte in the envelope could decode to the same signature.
 */
function decodeBase64(text: string, what: string): Buffer {
  if (!BASE64.test(text) && !BASE64URL.test(text)) throw new BundleVerificationError("signature_invalid", `the envelope's ${what} is not base64`, { file: "attestation.dsse.json" });
  const bytes = Buffer.from(text, BASE64.test(text) ? "base64" : "base64url");
  const again = BASE64.test(text) ? bytes.toString("base64") : bytes.toString("base64url");
  if (again !== text) throw new BundleVerificationError("signature_invalid", `the envelope's ${what} is not canonical base64`, { file: "attestation.dsse.json" });
  return bytes;
}

/** Parses the stored envelope; anything but the exact form `serializeEnvelope` writes is `signature_invalid`. */
export function parseEnvelope(bytes: Buffer): DsseEnvelope {
  const file = "attestation.dsse.json";
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new BundleVerificationError("signature_invalid", `${file} is not JSON: ${(error as Error).message}`, { file, cause: error });
  }
  const e = value as Partial<DsseEnvelope> | null;
  const valid =
    e !== null &&
    typeof e === "object" &&
    typeof e.payloadType === "string" &&
    typeof e.payload === "string" &&
    Array.isArray(e.signatures) &&
    e.signatures.length === 1 &&
    e.signatures.every((s) => s !== null && typeof s === "object" && typeof s.keyid === "string" && typeof s.sig === "string");
  if (!valid) throw new BundleVerificationError("signature_invalid", `${file} is not a DSSE envelope with one signature (payloadType, payload, signatures[{keyid, sig}])`, { file });
  const envelope = e as DsseEnvelope;
  // Byte-exact: a re-spaced or reordered envelope parses the same but is not the signed file.
  if (serializeEnvelope(envelope) !== bytes.toString("utf8")) throw new BundleVerificationError("signature_invalid", `${file} is not in the form distcheck writes (its bytes were changed)`, { file });
  return envelope;
}

/**
 * Checks the envelope's one signature with `publicKey` and returns the payload. `key_mismatch` when it
 * names another key (another key was given, or the keyid was changed), `signature_invalid` when the
 * signature does not verify over PAE(payloadType, payload).
 */
export function verifyEnvelope(envelope: DsseEnvelope, publicKey: KeyObject, payloadType = IN_TOTO_PAYLOAD_TYPE): Buffer {
  const file = "attestation.dsse.json";
  const expected = keyIdOf(publicKey);
  const signature = envelope.signatures[0]!;
  if (signature.keyid !== expected) throw new BundleVerificationError("key_mismatch", `the bundle is signed by key ${signature.keyid}; the key given is ${expected}. Verify with the signer's public key.`, { file });
  if (envelope.payloadType !== payloadType) throw new BundleVerificationError("signature_invalid", `the envelope's payloadType is ${JSON.stringify(envelope.payloadType)}, not ${payloadType}`, { file });
  const payload = decodeBase64(envelope.payload, "payload");
  const sig = decodeBase64(signature.sig, "signature");
  if (!verify(null, pae(envelope.payloadType, payload), publicKey, sig)) throw new BundleVerificationError("signature_invalid", `the signature of ${file} does not verify with key ${expected}: the statement or the signature was changed`, { file });
  return payload;
}

import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyIdOf, loadPrivateKey, loadPublicKey, pae, parseEnvelope, serializeEnvelope, signEnvelope, verifyEnvelope } from "./dsse-signer.ts";
import { ed25519Pem } from "./test-artifact-builder.ts";

describe("DSSE", () => {
  it("encodes PAE as the spec's test vector", () => {
    expect(pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString()).toBe("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
    // LEN counts bytes, not characters.
    expect(pae("t", Buffer.from("é")).toString()).toBe("DSSEv1 1 t 2 é");
  });

  it("signs with ed25519 and verifies with the public key; the keyid is the SHA-256 of the SPKI DER", () => {
    const { privatePem, publicPem } = ed25519Pem();
    const envelope = signEnvelope(Buffer.from('{"a":1}'), loadPrivateKey(privatePem));
    const publicKey = loadPublicKey(publicPem);
    expect(envelope.signatures[0]!.keyid).toBe(keyIdOf(publicKey));
    expect(keyIdOf(publicKey)).toMatch(/^[0-9a-f]{64}$/);
    const parsed = parseEnvelope(Buffer.from(serializeEnvelope(envelope)));
    expect(verifyEnvelope(parsed, publicKey).toString()).toBe('{"a":1}');
  });

  it("refuses a key that is not PEM (key_unreadable) and one that is not ed25519 (key_not_ed25519)", () => {
    expect(() => loadPrivateKey("not a key")).toThrow(expect.objectContaining({ code: "key_unreadable" }));
    expect(() => loadPublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")).toThrow(expect.objectContaining({ code: "key_unreadable" }));
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" });
    expect(() => loadPrivateKey(rsa)).toThrow(expect.objectContaining({ code: "key_not_ed25519" }));
  });

  it("refuses an envelope whose base64 has a character outside the alphabet, which Node's decoder would skip", () => {
    const { privatePem, publicPem } = ed25519Pem();
    const envelope = signEnvelope(Buffer.from("payload"), loadPrivateKey(privatePem));
    const sig = envelope.signatures[0]!.sig;
    const padded = { ...envelope, signatures: [{ ...envelope.signatures[0]!, sig: `${sig.slice(0, -2)}<=` }] };
    expect(() => verifyEnvelope(padded, loadPublicKey(publicPem))).toThrow(expect.objectContaining({ code: "signature_invalid" }));
  });

  it("refuses the stored envelope after a change to any one of its bytes", () => {
    const { privatePem, publicPem } = ed25519Pem();
    const stored = Buffer.from(serializeEnvelope(signEnvelope(Buffer.from(JSON.stringify({ _type: "https://in-toto.io/Statement/v1", subject: [] })), loadPrivateKey(privatePem))));
    const publicKey = loadPublicKey(publicPem);
    expect(verifyEnvelope(parseEnvelope(stored), publicKey).length).toBeGreaterThan(0);
    const survivors: number[] = [];
    for (let i = 0; i < stored.length; i++) {
      const changed = Buffer.from(stored);
      changed[i]! ^= 0x01;
      try {
        verifyEnvelope(parseEnvelope(changed), publicKey);
        survivors.push(i);
      } catch (error) {
        expect(["signature_invalid", "key_mismatch"]).toContain((error as { code: string }).code);
      }
    }
    expect(survivors).toEqual([]);
  });
});

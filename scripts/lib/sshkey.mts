// Ed25519 deploy keys in OpenSSH format, with node:crypto only. Argo CD reads
// repository keys with golang.org/x/crypto/ssh, which takes the
// "OPENSSH PRIVATE KEY" format `ssh-keygen -t ed25519` writes; node:crypto
// cannot export that format, so it is encoded here (PROTOCOL.key in OpenSSH).
import { generateKeyPairSync, randomBytes } from "node:crypto";

export type SshKeyPair = { privateKey: string; publicKey: string };

const KEY_TYPE = "ssh-ed25519";
const MAGIC = "openssh-key-v1\0";

function sshString(value: Buffer | string): Buffer {
  const body = typeof value === "string" ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

function publicBlob(publicKey: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(publicKey)]);
}

/** A new ed25519 key pair: OpenSSH private key text and an authorized_keys line. */
export function generateSshKeyPair(comment: string): SshKeyPair {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  const seed = Buffer.from(jwk.d!, "base64url");
  const pub = Buffer.from(jwk.x!, "base64url");
  const check = randomBytes(4);
  let secret = Buffer.concat([check, check, sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const padding = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: padding }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from(MAGIC), sshString("none"), sshString("none"), sshString(""), uint32(1), sshString(publicBlob(pub)), sshString(secret)]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return {
    privateKey: ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n"),
    publicKey: `${KEY_TYPE} ${publicBlob(pub).toString("base64")} ${comment}`,
  };
}

/** The "ssh-ed25519 AAAA…" public key inside an OpenSSH private key (it is stored in clear). */
export function publicKeyOf(privateKey: string): string {
  const base64 = privateKey.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  const body = Buffer.from(base64, "base64");
  if (!body.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) throw new Error("not an OpenSSH private key");
  let offset = MAGIC.length;
  const next = () => {
    const length = body.readUInt32BE(offset);
    const value = body.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return value;
  };
  next(); // cipher
  next(); // kdf
  next(); // kdf options
  offset += 4; // number of keys
  const blob = next();
  const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString();
  return `${type} ${blob.toString("base64")}`;
}

/** "type base64" without the comment: how GitHub compares deploy keys. */
export function keyMaterial(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(" ");
}

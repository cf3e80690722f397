/**
 * Constant-time comparison of secrets and identities (docs/architecture.md, "Conventions";
 * src/hushwire/crypto/ct.py). The running time depends only on the lengths.
 */

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Overwrite a secret buffer with zeros (best effort; JS may have copies elsewhere). */
export function wipe(b: Uint8Array): void {
  b.fill(0);
}

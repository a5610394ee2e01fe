/**
 * Each daemon bundle's fingerprint: scripts/bundle.ts defines BYNINJA_BUNDLE_FINGERPRINT as a placeholder, and
 * writes the bundle's SHA-256 in its place once esbuild wrote it (src/shared/config/validated-config-cache.ts keys
 * the configuration it keeps with it, so a kept answer only ever counts for the code that gave it).
 */
import { createHash } from 'node:crypto';

/** As long as a SHA-256 in hex, so the source map's columns stay true once it is replaced. */
export const FINGERPRINT_PLACEHOLDER = 'BYNINJA_BUNDLE_FINGERPRINT_'.padEnd(64, '_');

/**
 * `code` with its fingerprint written in: the SHA-256 of the bundle as esbuild wrote it (placeholder included), so
 * the same sources bundle to the same bytes, and any change of the code changes it
 * (src/shared/config/validated-config-cache.ts keys what it keeps with it).
 */
export function withFingerprint(code: string): string {
  if (!code.includes(FINGERPRINT_PLACEHOLDER)) return code;
  const fingerprint = createHash('sha256').update(code).digest('hex');
  return code.split(FINGERPRINT_PLACEHOLDER).join(fingerprint);
}

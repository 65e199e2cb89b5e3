import { WINDOW_API_TOKEN_FILE } from '../../../src-shared/index.ts';
import { loadOrCreateSecret } from '../../../src-shared/secret-file.ts';

export { bearerOf, tokenMatches } from '../../../src-shared/secret-file.ts';

/**
 * The terminal's window-API bearer token: generated at first start (256 random bits), kept in
 * the data directory readable by the counter's user only (0600), read again on every start.
 * IT gives it to the business and queue systems on the same PC.
 */
export function loadOrCreateToken(dataDir: string): { token: string; path: string; created: boolean } {
  return loadOrCreateSecret(dataDir, WINDOW_API_TOKEN_FILE);
}

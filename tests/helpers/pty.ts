/**
 * The socat pty pair for tests. One implementation, in drivers/sim/pty-pair.ts, shared with the
 * `haocha pad-sim` CLI and the demo (which cannot import from tests/).
 */

export { createPtyPair, type PtyPair, socatPath } from '../../drivers/sim/pty-pair.ts';

import { hash } from '@node-rs/argon2';
import { EXIT, UsageError } from './usage.ts';

export const usage = `usage: haocha hash-pin < pin.txt      (or: printf '%s' PIN | haocha hash-pin)

Reads a staff PIN (4–12 digits) from standard input and prints its argon2id hash for the
"roster" of a counter config ({"staff_no", "name", "pin_hash"}). The PIN is read from stdin, not
the command line, so it stays out of shell history and the process list.
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function run(argv: string[]): Promise<number> {
  if (argv.length > 0) throw new UsageError('the PIN is read from stdin; no arguments');
  const pin = (await readStdin()).trim();
  if (!/^[0-9]{4,12}$/.test(pin)) throw new UsageError('a PIN is 4 to 12 digits');
  process.stdout.write(`${await hash(pin)}\n`);
  return EXIT.ok;
}

import { EXIT, UsageError } from './usage.ts';

const COMMANDS: Record<
  string,
  { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number>; usage: string }> }
> = {
  demo: {
    summary: 'run hub, simulated pad, counter and UI together (npm start)',
    load: () => import('./demo.ts'),
  },
  hub: { summary: "run the division's hub (central review system)", load: () => import('./hub.ts') },
  counter: {
    summary: 'run the counter app core, headless or with the browser UI',
    load: () => import('./counter.ts'),
  },
  'pad-sim': {
    summary: 'simulate an EVP/1 evaluator pad on a serial device or pty',
    load: () => import('./pad-sim.ts'),
  },
  'pad-discover': {
    summary: 'find evaluator pads on the serial ports and say which one a counter would use',
    load: () => import('./pad-discover.ts'),
  },
  enroll: {
    summary: 'enroll this terminal with the hub once, with a token from "haocha hub token"',
    load: () => import('./enroll.ts'),
  },
  'hash-pin': {
    summary: 'hash a staff PIN (from stdin) for the roster in a counter config',
    load: () => import('./hash-pin.ts'),
  },
  status: {
    summary: "print a counter's queue, sync and pad state as JSON",
    load: () => import('./status.ts'),
  },
};

export const USAGE = `haocha: 好差评 counter, pad bridge and hub

usage: haocha <command> [options]     (haocha <command> --help for its options)

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

exit codes: 0 ok, 1 failed, 2 bad usage
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? EXIT.ok : EXIT.usage;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`haocha: unknown command "${name}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  const mod = await cmd.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(mod.usage);
    return EXIT.ok;
  }
  try {
    return await mod.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`haocha ${name}: ${e.message}\n\n${mod.usage}`);
      return EXIT.usage;
    }
    process.stderr.write(`haocha ${name}: ${(e as Error).message}\n`);
    return EXIT.failed;
  }
}

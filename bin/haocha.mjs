#!/usr/bin/env node
// The `haocha` operations command. Sources are TypeScript run through tsx, so a fresh clone
// works after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

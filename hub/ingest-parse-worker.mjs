// Worker entry: sources are TypeScript run through tsx (as bin/haocha.mjs does), and a worker does
// not inherit the loader its parent registered at run time.
import { register } from 'tsx/esm/api';

register();
await import('./ingest-parse-worker.ts');

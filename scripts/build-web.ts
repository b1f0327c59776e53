// Builds the browser apps (run monitor and GraphQL playground) into web/dist: typed documents
// first (codegen from schema.graphql), then Vite. Run by `npm install` (postinstall), and before
// `npm start`, `npm run dev` and the tests, where it does nothing unless a source is newer than
// the last build. `--force` rebuilds anyway.
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const web = path.join(root, 'web');
const dist = path.join(web, 'dist');
const stamp = path.join(dist, '.built');

/** Newest modification time under these paths (generated typed documents excluded: codegen rewrites them). */
function newestMtime(paths: string[]): number {
  let newest = 0;
  const visit = (file: string) => {
    if (!existsSync(file) || file.startsWith(path.join(web, 'src', 'gql'))) return;
    const stats = statSync(file);
    if (stats.isDirectory()) for (const entry of readdirSync(file)) visit(path.join(file, entry));
    else newest = Math.max(newest, stats.mtimeMs);
  };
  paths.forEach(visit);
  return newest;
}

const inputs = [
  path.join(web, 'src'),
  path.join(web, 'index.html'),
  path.join(web, 'playground.html'),
  path.join(web, 'vite.config.ts'),
  path.join(root, 'schema.graphql'),
  path.join(root, 'codegen.ts'),
  path.join(root, 'package-lock.json'),
];
const force = process.argv.includes('--force');
if (!force && existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(inputs)) {
  console.log('web apps: up to date (web/dist)');
  process.exit(0);
}

let vite: typeof import('vite');
let codegen: typeof import('@graphql-codegen/cli');
try {
  vite = await import('vite');
  codegen = await import('@graphql-codegen/cli');
} catch {
  // An install without devDependencies (npm ci --omit=dev) has no build tools: the API works,
  // and / explains that the web apps are missing.
  console.warn(
    'web apps: not built — Vite is not installed (devDependencies omitted). The GraphQL API works; install devDependencies and run `npm run web:build` for the monitor and playground.',
  );
  process.exit(0);
}

const started = performance.now();
const { default: config } = await import('../codegen.ts');
await codegen.generate({ ...config, cwd: root, silent: true }, true);
await vite.build({ configFile: path.join(web, 'vite.config.ts'), logLevel: 'warn' });
writeFileSync(stamp, `${new Date().toISOString()}\n`);
console.log(`web apps: built into web/dist in ${((performance.now() - started) / 1000).toFixed(1)} s`);

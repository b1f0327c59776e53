// Builds the two browser apps Weft serves (see src/http/web.ts):
// - index.html: the run monitor (React, urql + graphcache, graphql-ws), served at / ;
// - playground.html: GraphiQL (Monaco editors and their workers), served at /graphql to browsers.
// Everything is bundled from npm packages: the built pages load nothing from another host.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  // The repository's .env files hold server settings, never the browser's.
  envDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Monaco (the playground's editor) is large and lazy; the monitor's own budget is checked by
    // test/web.build.test.ts, so Vite's generic warning would only be noise.
    chunkSizeWarningLimit: 5000,
    reportCompressedSize: false,
    rollupOptions: {
      input: { monitor: `${root}index.html`, playground: `${root}playground.html` },
      // GraphiQL's packages carry React-compiler directives ("use no memo") that bundling drops
      // harmlessly; the warning about each would bury real ones.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  worker: { format: 'es' },
});

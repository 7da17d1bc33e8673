// Builds the viewer (web/src) into static assets in web/dist, which the server serves at "/".
// Run from the repository root: `vite build web --config web/vite.config.ts`.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { glyphsPlugin } from './glyphs/build';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: webRoot,
  base: '/',
  // Everything is bundled: the viewer must work with no network but the project's own server.
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000, // maplibre-gl alone is ~1 MB minified
    // The viewer, and its print page (the service renders thematic maps from it, server/releases/print.ts).
    rollupOptions: { input: { main: fileURLToPath(new URL('./index.html', import.meta.url)), print: fileURLToPath(new URL('./print.html', import.meta.url)) } },
  },
  plugins: [glyphsPlugin()],
  server: {
    // In `vite dev`, the API, style, tiles and identify come from the real server (PORT 3000 by default).
    proxy: Object.fromEntries(['/api', '/style.json', '/tiles'].map((p) => [p, {
      target: process.env.ONEMAP_API ?? 'http://localhost:3000',
      changeOrigin: true,
    }])),
  },
});

import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'vite'

/**
 * The front end's build: web/ -> web/dist (index.html and hashed assets),
 * which the daemon serves (src/web/static.ts). Everything is bundled: a
 * station is often offline, so nothing may come from a CDN.
 */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2020', reportCompressedSize: false, manifest: true },
  logLevel: 'warn',
})

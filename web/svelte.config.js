import { vitePreprocess } from '@sveltejs/vite-plugin-svelte'

/** TypeScript in <script lang="ts">; runes everywhere (Svelte 5). */
export default {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
}

import { defineConfig } from "vite";

// `npm run dev` (Vite's dev server, hot reload) forwards /api to `make dev`'s server;
// `make dev` itself serves the built `dist/` and the API on one origin.
// No @types/node for one variable.
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};

export default defineConfig({
  build: { target: "es2022", sourcemap: false, assetsInlineLimit: 0 },
  server: {
    proxy: { "/api": `http://127.0.0.1:${env.PORT ?? "3000"}` },
  },
});

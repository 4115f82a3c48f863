import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Relative asset URLs: the app works under any URL sub-path behind a proxy.
export default defineConfig({
  base: './',
  plugins: [react()],
  // `npm run dev` talks to a running ccweb (CCWEB_URL, default :7878). No
  // changeOrigin: ccweb's Host and Origin checks see the dev server's origin,
  // so add it to allowed_origins/allowed_hosts when they differ.
  server: {
    proxy: {
      '/api': { target: process.env.CCWEB_URL ?? 'http://127.0.0.1:7878', ws: true },
      '/login': { target: process.env.CCWEB_URL ?? 'http://127.0.0.1:7878' },
    },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});

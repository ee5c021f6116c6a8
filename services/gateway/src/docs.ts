// The browsable API reference at /api/docs: swagger-ui-dist's assets served from this process (no CDN).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { notFound, refuseOtherMethods } from '@taskflow/shared';
import type { Middleware } from 'koa';

export const DOCS_PATH = '/api/docs';
const ASSETS_PATH = `${DOCS_PATH}/assets`;

/** The only files served from swagger-ui-dist, with their content types. */
const distFiles: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-16x16.png': 'image/png',
  'favicon-32x32.png': 'image/png',
};

// A file rather than an inline script, so a strict Content-Security-Policy can be added without changes.
const initScript = (specUrl: string) => `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(specUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>TaskFlow API</title>
  <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css">
  <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="${ASSETS_PATH}/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="${ASSETS_PATH}/swagger-ui-standalone-preset.js"></script>
  <script src="${ASSETS_PATH}/init.js"></script>
</body>
</html>
`;

/**
 * Every docs response: no MIME sniffing, never framed (clickjacking), and only this origin's scripts,
 * styles, images and fetches, so the page works offline. Swagger UI sets inline style attributes and
 * renders some icons from data: URLs; nothing else is allowed.
 */
const DOCS_SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** Serves the docs page and its assets, and sends `/` there; every other request passes through. */
export function apiDocs(specUrl: string): Middleware {
  const distDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Buffer>();
  const readDist = async (file: string): Promise<Buffer> => {
    let content = cache.get(file);
    if (!content) {
      content = await readFile(path.join(distDir, file));
      cache.set(file, content);
    }
    return content;
  };
  return async (ctx, next) => {
    // The gateway's root has nothing of its own: a browser (or a curious curl) lands on the reference.
    if (ctx.path === '/' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      ctx.state.route = '/';
      ctx.redirect(DOCS_PATH);
      return;
    }
    if (ctx.path !== DOCS_PATH && !ctx.path.startsWith(`${ASSETS_PATH}/`)) return next();
    ctx.state.route = ctx.path === DOCS_PATH ? DOCS_PATH : `${ASSETS_PATH}/:file`;
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return refuseOtherMethods(ctx, ['GET', 'HEAD']);
    ctx.set(DOCS_SECURITY_HEADERS);
    if (ctx.path === DOCS_PATH) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = page;
      return;
    }
    const file = ctx.path.slice(ASSETS_PATH.length + 1);
    if (file === 'init.js') {
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.body = initScript(specUrl);
      return;
    }
    const type = Object.hasOwn(distFiles, file) ? distFiles[file] : undefined;
    if (!type) throw notFound();
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.type = type;
    ctx.body = await readDist(file);
  };
}

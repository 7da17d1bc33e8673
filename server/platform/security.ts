// Security headers on every answer (helmet), HSTS only over TLS, and the HTTP server with its size
// limits and slow-client timeouts. The policy is the viewer's: everything it loads comes from the
// service itself (scripts, styles, tiles, glyphs, the style), MapLibre's worker is a same-origin
// module, and the only other sources are the data:/blob: URLs MapLibre and the print page make.
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express, RequestHandler } from 'express';
import helmet from 'helmet';
import type { Config } from './config';
import { log } from './log';

/** HSTS max-age (s): one year, the service's own host only (a city's domain has other sites on it). */
const HSTS = 'max-age=31536000';

/**
 * The Content-Security-Policy directives. `publicUrl` (ONEMAP_PUBLIC_URL) is allowed too when set:
 * the style and TileJSON name the service by it, which may differ from the address a page came from.
 */
export function cspDirectives(publicUrl?: string): Record<string, string[]> {
  const self = ["'self'", ...(publicUrl ? [new URL(publicUrl).origin] : [])];
  return {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    // No inline script anywhere: the viewer and the print page are Vite-built modules.
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    // No inline style either: the pages set styles through the CSSOM (element.style, insertRule).
    'style-src': ["'self'"],
    // MapLibre decodes tile images and sprites from blob: URLs; the print page shows the map as a blob: PNG.
    'img-src': [...self, 'data:', 'blob:'],
    'font-src': ["'self'", 'data:'],
    // Tiles, the style, glyphs, the API: the service only. An archive opened from disk (.pmtiles) is read as a File, not fetched.
    'connect-src': self,
    // MapLibre's worker is the same-origin module maplibre-gl-worker.mjs (setWorkerUrl); blob: for its fallback.
    'worker-src': ["'self'", 'blob:'],
    'object-src': ["'none'"],
    'frame-ancestors': ["'self'"],
    'form-action': ["'self'"],
  };
}

/**
 * helmet's headers with the viewer's policy, on every route (HTML, JSON, tiles, downloads):
 * nosniff, Referrer-Policy no-referrer, frame-ancestors 'self' with X-Frame-Options SAMEORIGIN;
 * Cross-Origin-Resource-Policy cross-origin since any web map may use the published releases (CORS *).
 * HSTS only on a request that came over TLS (directly, or through a trusted proxy's X-Forwarded-Proto):
 * over plain HTTP the header would be ignored at best, and it must never pin a host that has no TLS.
 */
export function securityHeaders(publicUrl?: string): RequestHandler[] {
  return [
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(publicUrl) },
      crossOriginResourcePolicy: { policy: 'cross-origin' },
      strictTransportSecurity: false,
      referrerPolicy: { policy: 'no-referrer' },
      xFrameOptions: { action: 'sameorigin' },
    }),
    (req, res, next) => {
      if (req.secure) res.setHeader('Strict-Transport-Security', HSTS);
      next();
    },
  ];
}

/** How long an answer under way may take to finish after its connection's parser failed. */
const IN_FLIGHT_GRACE_MS = 30_000;

/** Error JSON for what Node refuses before Express sees the request (headers too large, too slow, unparseable). */
function refuseClient(err: NodeJS.ErrnoException, socket: Duplex) {
  const inFlight = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
  if (inFlight?.headersSent) {
    // An answer is under way (a compressed one is written after its headers, while the parser reads
    // on: e.g. a body sent after `Connection: close`, HPE_CLOSED_CONNECTION). Cutting the socket now
    // would lose it: the connection closes once it is written.
    const close = () => socket.end();
    if (inFlight.writableFinished) close();
    else {
      inFlight.once('finish', close);
      inFlight.once('close', () => {
        if (!inFlight.writableFinished) socket.destroy(); // ended without finishing: nothing more will come
      });
      setTimeout(() => socket.destroy(), IN_FLIGHT_GRACE_MS).unref(); // a timer of a closed socket does nothing
    }
    log.debug({ err: err.code }, 'client error while an answer is under way');
    return;
  }
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are larger than the service accepts (ONEMAP_MAX_HEADER_BYTES)']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'request_timeout', 'the request was not received in time (ONEMAP_HEADERS_TIMEOUT_MS, ONEMAP_REQUEST_TIMEOUT_MS)']
        : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
          ? [413, 'Payload Too Large', 'payload_too_large', 'chunk extensions too large']
          : [400, 'Bad Request', 'malformed_request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ code, message });
  log.debug({ err: err.code, status }, 'client error');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * The HTTP server of the app with the limits of the configuration: Node's maxHeaderSize (431 above
 * it), headersTimeout and requestTimeout against slow clients (408), keepAliveTimeout; Node's own
 * refusals answer with the service's error JSON. It is not listening yet.
 */
export function createHttpServer(app: Express, config: Config): http.Server {
  const server = http.createServer(
    {
      maxHeaderSize: config.ONEMAP_MAX_HEADER_BYTES,
      headersTimeout: config.ONEMAP_HEADERS_TIMEOUT_MS,
      requestTimeout: config.ONEMAP_REQUEST_TIMEOUT_MS,
      // How often Node looks for connections past those timeouts (default 30 s, too coarse for a 20 s limit).
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(config.ONEMAP_HEADERS_TIMEOUT_MS / 4))),
    },
    app,
  );
  server.keepAliveTimeout = config.ONEMAP_KEEP_ALIVE_TIMEOUT_MS;
  server.on('clientError', refuseClient);
  return server;
}

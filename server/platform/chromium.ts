// Debian's Chromium (/usr/bin/chromium, installed by bootstrap.sh) driven headless through
// playwright-core, which downloads no browser of its own: the flags it needs in the sandbox and
// on the closed network, shared by the service (printing, server/releases/print.ts) and the tests
// (tests/helpers/browser.ts).
import { chromium, type Browser } from 'playwright-core';

/** The browser binary (Debian's package "chromium"). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags the sandbox and the closed network need: no user namespaces (--no-sandbox), WebGL on the
 * CPU (SwiftShader, there is no GPU), and none of the background calls home.
 */
export const CHROMIUM_ARGS = ['--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Launches headless Chromium with those flags. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ headless: true, executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

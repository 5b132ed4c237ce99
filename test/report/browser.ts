import { existsSync } from 'node:fs';

/** The system's Chromium (Debian's `chromium`), or null: the browser tests then skip, saying so. */
export function findChromium(): string | null {
  const candidates = [process.env['TRAJPIPE_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? null;
}

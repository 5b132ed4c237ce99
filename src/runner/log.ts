import { scrubUrlsInText } from '../core/endpoint.js';

/**
 * Logs go to stderr so stdout stays free for command output (validate's report, stages' list). No line shows
 * an endpoint's credentials or query string.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export function createLogger(quiet: boolean): Logger {
  return {
    info: (m) => {
      if (!quiet) process.stderr.write(scrubUrlsInText(m) + '\n');
    },
    warn: (m) => process.stderr.write(`warning: ${scrubUrlsInText(m)}\n`),
  };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {} };

/** Logs go to stderr so stdout stays free for command output (validate's report, stages' list). */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export function createLogger(quiet: boolean): Logger {
  return {
    info: (m) => {
      if (!quiet) process.stderr.write(m + '\n');
    },
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
  };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {} };

import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';

/** Counts and rate for one stage: a bar on a terminal, a log line every few seconds otherwise. */
export interface Progress {
  update(recordsIn: number, recordsOut: number, dropped: number): void;
  stop(): void;
}

export interface ProgressOptions {
  stage: string;
  total: number | null;
  quiet: boolean;
  tty?: boolean;
  intervalMs?: number;
  write?: (line: string) => void;
  /** Clock for the rate (tests). */
  now?: () => number;
}

export function createProgress(opts: ProgressOptions): Progress {
  if (opts.quiet) return { update: () => {}, stop: () => {} };
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  return tty ? barProgress(opts) : lineProgress(opts);
}

function barProgress(opts: ProgressOptions): Progress {
  // Loaded here, not at start-up: only a terminal shows bars (docs/design.md, "Start-up").
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    {
      format: `${opts.stage.padEnd(8)} {bar} {value}${opts.total ? '/{total}' : ''} in | {out} out | {dropped} dropped | {rate}/s | eta {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(opts.total ?? 0, 0, { out: 0, dropped: 0, rate: '0' });
  return {
    update(inN, outN, dropped) {
      const secs = Math.max((Date.now() - started) / 1000, 1e-3);
      if (!opts.total) bar.setTotal(inN);
      bar.update(inN, { out: outN, dropped, rate: (inN / secs).toFixed(1) });
    },
    stop: () => bar.stop(),
  };
}

/**
 * The interval of the non-terminal log line: 10 s, or TRAJPIPE_PROGRESS_INTERVAL_MS (for tests and
 * people who want it more or less often).
 */
export function defaultIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.TRAJPIPE_PROGRESS_INTERVAL_MS);
  return Number.isFinite(v) && v > 0 ? v : 10_000;
}

/**
 * A log line every interval, driven by a timer rather than by record counts: a stage busy on one big
 * file (ingest reading a multi-GB JSON-lines file, or classifying its inputs) still says it is alive.
 * The timer is unref'd so it never keeps the process running.
 */
function lineProgress(opts: ProgressOptions): Progress {
  const write = opts.write ?? ((l: string) => process.stderr.write(l + '\n'));
  const interval = opts.intervalMs ?? defaultIntervalMs();
  const now = opts.now ?? Date.now;
  const started = now();
  let counts: [number, number, number] = [0, 0, 0];
  const line = (): void => {
    const [inN, outN, dropped] = counts;
    const rate = inN / Math.max((now() - started) / 1000, 1e-3);
    const of = opts.total ? `/${opts.total}` : '';
    const eta = opts.total && rate > 0 ? `, ~${Math.ceil((opts.total - inN) / rate)}s left` : '';
    write(`[${opts.stage}] ${inN}${of} in, ${outN} out, ${dropped} dropped, ${rate.toFixed(1)} records/s${eta}`);
  };
  const timer = setInterval(line, interval);
  timer.unref();
  return {
    update(inN, outN, dropped) {
      counts = [inN, outN, dropped];
    },
    stop: () => clearInterval(timer),
  };
}

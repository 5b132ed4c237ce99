import cliProgress from 'cli-progress';

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
}

export function createProgress(opts: ProgressOptions): Progress {
  if (opts.quiet) return { update: () => {}, stop: () => {} };
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  return tty ? barProgress(opts) : lineProgress(opts);
}

function barProgress(opts: ProgressOptions): Progress {
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

function lineProgress(opts: ProgressOptions): Progress {
  const write = opts.write ?? ((l: string) => process.stderr.write(l + '\n'));
  const interval = opts.intervalMs ?? 10_000;
  const started = Date.now();
  let last = started;
  return {
    update(inN, outN, dropped) {
      const now = Date.now();
      if (now - last < interval) return;
      last = now;
      const rate = inN / Math.max((now - started) / 1000, 1e-3);
      const of = opts.total ? `/${opts.total}` : '';
      const eta = opts.total && rate > 0 ? `, ~${Math.ceil((opts.total - inN) / rate)}s left` : '';
      write(`[${opts.stage}] ${inN}${of} in, ${outN} out, ${dropped} dropped, ${rate.toFixed(1)} records/s${eta}`);
    },
    stop: () => {},
  };
}

import { UserError } from '../core/errors.js';

/** What a file-system error means, in words (the code stays in parentheses for searching). */
const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'an input/output error of the device',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on the system',
  EFBIG: 'the file is too large for the file system',
  ENAMETOOLONG: 'the path is too long',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'the path is a folder',
  EEXIST: 'the path already exists',
  ENOENT: 'the path does not exist',
};

export function isSystemError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((err as NodeJS.ErrnoException).code!) && 'syscall' in err;
}

const READS = new Set(['read', 'scandir', 'stat', 'lstat', 'access', 'readlink']);

/**
 * An error of the file system as a clause naming the path and the cause ("cannot write P: no space left
 * on the device (ENOSPC)"). A write to an open file reports no path, so the caller says where it was writing.
 */
export function systemErrorClause(err: NodeJS.ErrnoException & { code: string }, where: string | null = null): string {
  const cause = CAUSES[err.code] ?? err.message.replace(/^E[A-Z]+: /, '').split(',')[0];
  const path = err.path ?? where;
  const verb = READS.has(err.syscall ?? '') ? 'read' : 'write';
  return `${path ? `cannot ${verb} ${path}` : `a file operation (${err.syscall ?? 'unknown'}) failed`}: ${cause} (${err.code})`;
}

const fullDisk = (code: string) => code === 'ENOSPC' || code === 'EDQUOT';

/** One sentence for an error of the file system outside a stage (the lock, the output folder). */
export function systemErrorSentence(err: NodeJS.ErrnoException & { code: string }): string {
  const s = systemErrorClause(err);
  const hint = fullDisk(err.code) ? '; free some space (or use another --out) and rerun the same command' : '';
  return `${s[0]!.toUpperCase()}${s.slice(1)}${hint}.`;
}

/** The error a stage failed with, as a one-sentence UserError when it came from the file system. */
export function stageWriteError(err: unknown, stage: string, dir: string): unknown {
  if (!isSystemError(err)) return err;
  const hint = fullDisk(err.code)
    ? '; free some space (or use another --out) and rerun the same command to resume at this stage'
    : '; rerun the same command once that is fixed';
  return new UserError(`The ${stage} stage stopped and kept no output: ${systemErrorClause(err, err.path ? null : dir)}${hint}.`);
}

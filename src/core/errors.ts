/** An error whose message is one sentence fit to show a user as is (no stack trace). */
export class UserError extends Error {
  override name = 'UserError';
}

/** Thrown by a stage that stops cleanly before finishing (a budget cap): resumable, not a crash. */
export class StageStopped extends Error {
  override name = 'StageStopped';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Misuse of the command line (options that cannot go together): exit code 2, like yargs' own errors. */
export class UsageError extends UserError {
  override name = 'UsageError';
}

/**
 * Errors as the user reads them: every failure becomes a `RepoError` with one sentence
 * (the server extension's `message`, or one written here) and a `reason` from a closed
 * set, so the dialogs can decide what to offer (e.g. logging in again).
 */
import type { TranslationBundle } from '@jupyterlab/translation';

/**
 * The reasons the jupyter-repo server extension answers with, in JSON errors and failed
 * tasks. Defined once in Python (`jupyter_repo.client.errors.Reason`); a test
 * (tests/lab/test_labextension.py) checks that this list names exactly the same codes.
 */
export const SERVER_REASONS = [
  'bad_request',
  'not_configured',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'too_large',
  'rate_limited',
  'server_error',
  'unreachable',
  'cancelled',
  'capture_failed',
  'install_failed',
  'error'
] as const;

export type ServerReason = (typeof SERVER_REASONS)[number];

/**
 * A server reason, or what only the browser can tell: `network` (the Jupyter server did
 * not answer at all) and `unexpected` (an answer without a known reason, e.g. from a
 * Jupyter server without the extension, or a proxy in between).
 */
export type ErrorReason = ServerReason | 'network' | 'unexpected';

/** Reasons that logging in (again) can fix. */
const LOGIN_REASONS: ReadonlyArray<ErrorReason> = [
  'unauthorized',
  'not_configured'
];

export function isServerReason(value: unknown): value is ServerReason {
  return (SERVER_REASONS as ReadonlyArray<unknown>).includes(value);
}

/** An error with a sentence meant for the user. */
export class RepoError extends Error {
  constructor(
    message: string,
    readonly reason: ErrorReason,
    /** The HTTP status of the answer (0 when there was none). */
    readonly status: number
  ) {
    super(message);
    this.name = 'RepoError';
  }

  /** Whether logging in to the repository (again) may fix it. */
  get needsLogin(): boolean {
    return LOGIN_REASONS.includes(this.reason) || this.status === 401;
  }
}

/** What to say when an error answer has no message of its own. */
export function fallbackMessage(
  status: number,
  trans: TranslationBundle
): string {
  if (status === 404) {
    return trans.__(
      'The jupyter-repo server extension is not running in this Jupyter server. Install jupyter-repo in the environment Jupyter runs from and restart it.'
    );
  }
  if (status === 403) {
    return trans.__(
      'This Jupyter server does not allow you to use the repository.'
    );
  }
  return trans.__(
    'The Jupyter server answered with an error (HTTP %1).',
    status
  );
}

function field(body: unknown, name: string): unknown {
  return body && typeof body === 'object'
    ? (body as { [key: string]: unknown })[name]
    : undefined;
}

/** The error for an answer that is not OK (`body` is its decoded JSON, if any). */
export function errorFromAnswer(
  status: number,
  body: unknown,
  trans: TranslationBundle
): RepoError {
  const message = field(body, 'message');
  const reason = field(body, 'reason');
  return new RepoError(
    typeof message === 'string' && message
      ? message
      : fallbackMessage(status, trans),
    isServerReason(reason) ? reason : 'unexpected',
    status
  );
}

/** The error for a request that got no answer at all. */
export function networkError(
  error: unknown,
  trans: TranslationBundle
): RepoError {
  const detail = error instanceof Error ? error.message : String(error);
  return new RepoError(
    trans.__('Cannot reach the Jupyter server: %1', detail),
    'network',
    0
  );
}

/** What a finished task reports when it did not succeed. */
export interface ITaskOutcome {
  state: string;
  message: string;
  error: string | null;
  reason?: string | null;
}

/** The error of a task that failed or was cancelled. */
export function taskError(
  task: ITaskOutcome,
  trans: TranslationBundle
): RepoError {
  const cancelled = task.state === 'cancelled';
  const message =
    task.error ||
    (cancelled ? trans.__('The task was cancelled.') : task.message) ||
    trans.__('The task failed.');
  const reason = isServerReason(task.reason)
    ? task.reason
    : cancelled
      ? 'cancelled'
      : 'unexpected';
  return new RepoError(message, reason, 0);
}

/** The sentence to show for anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

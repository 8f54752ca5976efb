import { nullTranslator } from '@jupyterlab/translation';

import {
  errorFromAnswer,
  isServerReason,
  messageOf,
  networkError,
  RepoError,
  SERVER_REASONS,
  taskError
} from '../errors';

const trans = nullTranslator.load('jupyter_repo');

describe('errorFromAnswer', () => {
  it('keeps the server’s message and reason', () => {
    const error = errorFromAnswer(
      409,
      { message: 'a/b version 7 already exists.', reason: 'conflict' },
      trans
    );
    expect(error).toBeInstanceOf(RepoError);
    expect(error.message).toBe('a/b version 7 already exists.');
    expect(error.reason).toBe('conflict');
    expect(error.status).toBe(409);
    expect(error.needsLogin).toBe(false);
  });

  it('says the server extension is missing for a bare 404', () => {
    const error = errorFromAnswer(404, null, trans);
    expect(error.message).toMatch(
      /server extension is not running in this Jupyter server/
    );
    expect(error.reason).toBe('unexpected');
  });

  it('explains a bare 403 and other statuses', () => {
    expect(errorFromAnswer(403, '', trans).message).toBe(
      'This Jupyter server does not allow you to use the repository.'
    );
    expect(errorFromAnswer(502, { message: '' }, trans).message).toBe(
      'The Jupyter server answered with an error (HTTP 502).'
    );
  });

  it('never passes on a reason outside the closed set', () => {
    // Jupyter's contents manager says "bad type"; a proxy may say anything.
    for (const reason of ['bad type', 'Not Found', '', 42, null]) {
      const error = errorFromAnswer(400, { message: 'm', reason }, trans);
      expect(error.reason).toBe('unexpected');
    }
  });

  it('asks for a login when the repository refused the credentials', () => {
    for (const reason of ['unauthorized', 'not_configured']) {
      expect(
        errorFromAnswer(400, { message: 'm', reason }, trans).needsLogin
      ).toBe(true);
    }
    expect(errorFromAnswer(401, null, trans).needsLogin).toBe(true);
    expect(
      errorFromAnswer(403, { message: 'm', reason: 'forbidden' }, trans)
        .needsLogin
    ).toBe(false);
  });
});

describe('the reason set', () => {
  it('has unique snake_case codes', () => {
    expect(new Set(SERVER_REASONS).size).toBe(SERVER_REASONS.length);
    for (const reason of SERVER_REASONS) {
      expect(reason).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(isServerReason(reason)).toBe(true);
    }
    expect(isServerReason('network')).toBe(false);
    expect(isServerReason(undefined)).toBe(false);
  });
});

describe('networkError and taskError', () => {
  it('says the Jupyter server cannot be reached', () => {
    const error = networkError(new TypeError('Failed to fetch'), trans);
    expect(error.message).toBe(
      'Cannot reach the Jupyter server: Failed to fetch'
    );
    expect([error.reason, error.status]).toEqual(['network', 0]);
  });

  it('takes a failed task’s error and reason', () => {
    const error = taskError(
      {
        state: 'failed',
        message: 'error: Too large',
        error: 'Too large for the repository.',
        reason: 'too_large'
      },
      trans
    );
    expect([error.message, error.reason]).toEqual([
      'Too large for the repository.',
      'too_large'
    ]);
  });

  it('reports a cancelled task as cancelled', () => {
    const error = taskError(
      { state: 'cancelled', message: '', error: null, reason: null },
      trans
    );
    expect([error.message, error.reason]).toEqual([
      'The task was cancelled.',
      'cancelled'
    ]);
  });

  it('gives any thrown value a sentence', () => {
    expect(messageOf(new Error('boom'))).toBe('boom');
    expect(messageOf('plain')).toBe('plain');
  });
});

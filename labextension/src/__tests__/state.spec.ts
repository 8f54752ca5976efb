import { nullTranslator } from '@jupyterlab/translation';

import type { IStatus } from '../api';
import { RepoError } from '../errors';
import { DEFAULT_SETTINGS, IRepositorySettings } from '../settings';
import { IStatusSource, RepositoryState } from '../state';

const trans = nullTranslator.load('jupyter_repo');

const CONNECTED: IStatus = {
  url: 'https://repo.example.org',
  connected: true,
  user: { login: 'ada', name: 'Ada' },
  namespaces: [{ login: 'ada', kind: 'user' }],
  error: null
};

/** Answers the statuses (or throws the errors) it is given, in turn. */
class ScriptedSource implements IStatusSource {
  constructor(private readonly answers: (IStatus | Error)[]) {}

  async status(): Promise<IStatus> {
    const next = this.answers.shift();
    if (next === undefined || next instanceof Error) {
      throw next ?? new Error('no more answers');
    }
    return next;
  }
}

describe('RepositoryState', () => {
  it('starts unknown, with the default settings', () => {
    const state = new RepositoryState(new ScriptedSource([]), trans);
    expect(state.status.connected).toBe(false);
    expect(state.serverError).toBeNull();
    expect(state.settings).toEqual(DEFAULT_SETTINGS);
  });

  it('refreshes the status and tells its listeners', async () => {
    const state = new RepositoryState(new ScriptedSource([CONNECTED]), trans);
    const seen: IStatus[] = [];
    state.statusChanged.connect((_, status) => seen.push(status));
    await expect(state.refresh()).resolves.toEqual(CONNECTED);
    expect(seen).toEqual([CONNECTED]);
    expect(state.serverError).toBeNull();
  });

  it('keeps why the server extension could not be asked, until it answers', async () => {
    const missing = new RepoError(
      'The extension is missing.',
      'unexpected',
      404
    );
    const state = new RepositoryState(
      new ScriptedSource([missing, CONNECTED]),
      trans
    );
    const status = await state.refresh();
    expect(status).toMatchObject({ connected: false, user: null });
    expect(status.error).toBe('The extension is missing.');
    expect(state.serverError).toBe('The extension is missing.');

    await state.refresh();
    expect(state.serverError).toBeNull();
    expect(state.status).toEqual(CONNECTED);
  });

  it('replaces the settings and tells its listeners', () => {
    const state = new RepositoryState(new ScriptedSource([]), trans);
    const seen: IRepositorySettings[] = [];
    state.settingsChanged.connect((_, settings) => seen.push(settings));
    const changed = {
      ...DEFAULT_SETTINGS,
      defaultVisibility: 'private' as const
    };
    state.updateSettings(changed);
    expect(state.settings).toEqual(changed);
    expect(seen).toEqual([changed]);
  });

  it('announces publishes', () => {
    const state = new RepositoryState(new ScriptedSource([]), trans);
    const seen: string[] = [];
    state.published.connect((_, item) =>
      seen.push(`${item.owner}/${item.name}`)
    );
    state.notifyPublished('ada', 'nb');
    expect(seen).toEqual(['ada/nb']);
  });
});

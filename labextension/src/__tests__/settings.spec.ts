import { nullTranslator } from '@jupyterlab/translation';

import schema from '../../schema/plugin.json';
import type { INamespace } from '../api';
import {
  DEFAULT_SETTINGS,
  IRepositorySettings,
  normaliseRepositoryUrl,
  publishDefaults,
  readSettings
} from '../settings';

const namespaces: INamespace[] = [
  { login: 'ada', kind: 'user' },
  { login: 'Lab-Team', kind: 'org' }
];
const status = { user: { login: 'ada', name: 'Ada' }, namespaces };

function settings(
  values: Partial<IRepositorySettings> = {}
): IRepositorySettings {
  return { ...DEFAULT_SETTINGS, ...values };
}

describe('the settings schema', () => {
  it('declares every setting, with the defaults the code uses', () => {
    const properties = schema.properties as {
      [key: string]: { default: unknown; title: string; description: string };
    };
    expect(Object.keys(properties).sort()).toEqual(
      Object.keys(DEFAULT_SETTINGS).sort()
    );
    for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
      expect(properties[key].default).toEqual(value);
      expect(properties[key].title).toBeTruthy();
      expect(properties[key].description).toBeTruthy();
    }
  });
});

describe('readSettings', () => {
  it('takes valid values', () => {
    const values = {
      repositoryUrl: ' https://repo.example.org ',
      defaultNamespace: 'lab-team',
      defaultVisibility: 'private',
      defaultLabel: 'dev',
      attachEnvironment: false
    };
    expect(readSettings(values)).toEqual({
      ...values,
      repositoryUrl: 'https://repo.example.org'
    });
  });

  it('falls back to the defaults for what is missing or unusable', () => {
    expect(readSettings(undefined)).toEqual(DEFAULT_SETTINGS);
    expect(
      readSettings({
        defaultVisibility: 'secret',
        defaultLabel: '  ',
        attachEnvironment: 'yes',
        repositoryUrl: 7
      })
    ).toEqual(DEFAULT_SETTINGS);
  });
});

describe('publishDefaults', () => {
  it('proposes the user’s own namespace and the default label and visibility', () => {
    expect(publishDefaults(settings(), status, null)).toEqual({
      namespace: 'ada',
      label: 'main',
      visibility: 'public',
      attachEnvironment: true
    });
  });

  it('follows the settings', () => {
    const chosen = settings({
      defaultNamespace: 'lab-team',
      defaultVisibility: 'private',
      defaultLabel: 'dev',
      attachEnvironment: false
    });
    expect(publishDefaults(chosen, status, null)).toEqual({
      namespace: 'Lab-Team',
      label: 'dev',
      visibility: 'private',
      attachEnvironment: false
    });
  });

  it('prefers where the notebook was published before', () => {
    const chosen = settings({ defaultNamespace: 'lab-team' });
    expect(
      publishDefaults(chosen, status, { owner: 'ada', name: 'nb' }).namespace
    ).toBe('ada');
  });

  it('ignores namespaces the user may not publish to', () => {
    const chosen = settings({ defaultNamespace: 'someone-else' });
    expect(publishDefaults(chosen, status, { owner: 'gone' }).namespace).toBe(
      'ada'
    );
    expect(
      publishDefaults(chosen, { user: null, namespaces: [] }, null).namespace
    ).toBe('');
  });
});

describe('normaliseRepositoryUrl (defect 8)', () => {
  const trans = nullTranslator.load('jupyter_repo');

  it.each([
    ['https://repo.example.org/', 'https://repo.example.org'],
    ['  http://127.0.0.1:8080 ', 'http://127.0.0.1:8080'],
    ['repo.example.org', 'https://repo.example.org'],
    ['repo.example.org/prefix/', 'https://repo.example.org/prefix'],
    ['repo.example.org:8443', 'https://repo.example.org:8443'],
    ['localhost:8080', 'http://localhost:8080'],
    ['127.0.0.1:5000', 'http://127.0.0.1:5000'],
    ['//repo.example.org', 'https://repo.example.org'],
    ['', '']
  ])('%j is used as %j', (typed, url) => {
    expect(normaliseRepositoryUrl(typed, trans)).toEqual({ url, error: null });
  });

  it.each([
    ['ftp://repo.example.org', 'must start with http:// or https://'],
    ['mailto:someone', 'must start with http:// or https://'],
    ['http://', 'is not a URL'],
    ['https://exa mple.org', 'is not a URL']
  ])('%j is explained', (typed, words) => {
    const answer = normaliseRepositoryUrl(typed, trans);
    expect(answer.url).toBeNull();
    expect(answer.error).toContain(words);
  });
});

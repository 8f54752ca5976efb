import type { IPackageItem } from '../api';
import {
  installCommand,
  installsEnvironment,
  RowAction,
  rowActions
} from '../rows';

const REPO = 'https://repo.example.org/';

function item(
  types: string[],
  extra: Partial<IPackageItem> = {}
): IPackageItem {
  return {
    owner: 'ada',
    name: 'tides',
    summary: '',
    latest_version: '2',
    package_types: types,
    platforms: [],
    labels: ['main'],
    public: true,
    html_url: 'https://repo.example.org/ada/tides',
    ...extra
  };
}

describe('rowActions (issue 17: which entries a row offers)', () => {
  it.each<[string, string[], boolean, RowAction[]]>([
    [
      'a notebook without an environment',
      ['ipynb'],
      false,
      ['open', 'copy-install', 'view']
    ],
    [
      'a notebook with an attached environment',
      ['ipynb'],
      true,
      [
        'open',
        'open-with-environment',
        'install',
        'create-kernel',
        'copy-install',
        'view'
      ]
    ],
    [
      'an environment',
      ['env'],
      false,
      ['install', 'create-kernel', 'copy-install', 'view']
    ],
    ['a pip package', ['pypi'], false, ['install', 'copy-install', 'view']],
    ['a conda package', ['conda'], false, ['install', 'copy-install', 'view']],
    ['a project', ['project'], false, ['open', 'copy-install', 'view']],
    ['a data file', ['file'], false, ['copy-install', 'view']],
    ['a package of no known type', ['other'], false, ['view']]
  ])('%s', (_, types, attached, expected) => {
    expect(rowActions(item(types), { attached })).toEqual(expected);
  });

  it('offers no page link when the listing has none', () => {
    expect(
      rowActions(item(['pypi'], { html_url: '' }), { attached: false })
    ).toEqual(['install', 'copy-install']);
  });

  it('an attached environment changes nothing for a package that is no notebook', () => {
    expect(rowActions(item(['pypi']), { attached: true })).toEqual(
      rowActions(item(['pypi']), { attached: false })
    );
  });
});

describe('installsEnvironment (what "Install into this kernel" installs)', () => {
  it.each<[string[], boolean]>([
    [['env'], true],
    [['ipynb'], true],
    [['pypi'], false],
    [['conda'], false],
    [['conda', 'pypi'], false]
  ])('%j: %s', (types, expected) => {
    expect(installsEnvironment(item(types))).toBe(expected);
  });
});

describe('installCommand (the snippet of the web page)', () => {
  it.each<[string, IPackageItem, string]>([
    [
      'a public conda package: conda install from the owner’s channel',
      item(['conda']),
      'conda install -c https://repo.example.org/conda/ada tides'
    ],
    [
      'a public pip package: pip install from the owner’s index',
      item(['pypi']),
      'pip install --index-url https://repo.example.org/pypi/ada/simple tides'
    ],
    [
      'conda first when both, as the page lists them',
      item(['pypi', 'conda']),
      'conda install -c https://repo.example.org/conda/ada tides'
    ],
    [
      'an environment: jupyter repo install',
      item(['env']),
      'jupyter repo install ada/tides --url https://repo.example.org'
    ],
    [
      'a project: jupyter repo open',
      item(['project']),
      'jupyter repo open ada/tides --url https://repo.example.org'
    ],
    [
      'a private pip package: log in, then jupyter repo install (no token to paste in)',
      item(['pypi'], { public: false }),
      'jupyter repo login --url https://repo.example.org\n' +
        'jupyter repo install ada/tides --url https://repo.example.org'
    ],
    [
      'a pip package only on another label: jupyter repo install',
      item(['pypi'], { labels: ['dev'] }),
      'jupyter repo install ada/tides --url https://repo.example.org'
    ],
    [
      'no labels listed counts as main',
      item(['pypi'], { labels: [] }),
      'pip install --index-url https://repo.example.org/pypi/ada/simple tides'
    ],
    ['nothing for an unknown type', item(['other']), '']
  ])('%s', (_, row, expected) => {
    expect(installCommand(row, REPO, null)).toBe(expected);
  });

  it('a notebook with an environment: open it, then env create', () => {
    expect(
      installCommand(item(['ipynb']), REPO, { owner: 'bo', name: 'tides-env' })
    ).toBe(
      'jupyter repo open ada/tides --url https://repo.example.org\n' +
        'jupyter repo env create bo/tides-env --url https://repo.example.org'
    );
  });
});

import { nullTranslator } from '@jupyterlab/translation';

import {
  attachedEnvironment,
  describePublished,
  environmentPlan,
  IPackageInfo,
  packageSettings,
  pageLink
} from '../published';

const trans = nullTranslator.load('jupyter_repo');

const privateNotebook: IPackageInfo = {
  name: 'tides',
  public: false,
  latest_version: '2',
  files: [
    { basename: 'tides.ipynb', version: '1', type: 'ipynb', labels: ['main'] },
    {
      basename: 'tides.ipynb',
      version: '2',
      type: 'ipynb',
      labels: ['dev'],
      attrs: {
        environment: { owner: 'ada', name: 'tides-env', version: '2' }
      }
    }
  ]
};

describe('packageSettings (defect 4: a republish starts from the package)', () => {
  it('takes the visibility and the label of the latest version', () => {
    expect(packageSettings(privateNotebook)).toEqual({
      visibility: 'private',
      label: 'dev',
      latestVersion: '2'
    });
  });

  it('prefers a label other than main when a version has several', () => {
    const info: IPackageInfo = {
      name: 'x',
      public: true,
      latest_version: '1',
      files: [{ basename: 'x.ipynb', version: '1', labels: ['main', 'stable'] }]
    };
    expect(packageSettings(info)).toEqual({
      visibility: 'public',
      label: 'stable',
      latestVersion: '1'
    });
  });

  it('has no label when the repository shows none', () => {
    expect(
      packageSettings({ name: 'x', public: true, latest_version: null })
    ).toEqual({ visibility: 'public', label: null, latestVersion: null });
  });
});

describe('describePublished (defect 4: the result says what the version got)', () => {
  const result = { owner: 'ada', name: 'tides', version: '3', html_url: '' };

  it.each([
    [
      { public: false, labels: ['dev'] },
      'Published ada/tides, version 3: private (only you and those you share it with), label “dev”.'
    ],
    [
      { public: true, labels: ['main'] },
      'Published ada/tides, version 3: public (anyone can find and open it), label “main”.'
    ],
    [
      { public: true, label: 'beta', labels: [] },
      'Published ada/tides, version 3: public (anyone can find and open it), label “beta”.'
    ],
    [
      { public: true, labels: ['a', 'b'] },
      'Published ada/tides, version 3: public (anyone can find and open it), labels “a”, “b”.'
    ],
    [
      { public: false },
      'Published ada/tides, version 3: private (only you and those you share it with).'
    ]
  ])('%j', (extra, sentence) => {
    expect(describePublished({ ...result, ...extra }, trans)).toBe(sentence);
  });
});

describe('pageLink (defect 9: a private page opens after logging in)', () => {
  const repo = 'http://127.0.0.1:8080';

  it('links a public page directly', () => {
    expect(pageLink(`${repo}/ada/tides`, true, repo)).toBe(`${repo}/ada/tides`);
  });

  it('sends a private page through the login, which returns to it', () => {
    expect(pageLink(`${repo}/ada/tides`, false, repo)).toBe(
      `${repo}/login?next=%2Fada%2Ftides`
    );
  });

  it('keeps a path prefix of the repository', () => {
    expect(
      pageLink('https://x.org/repo/ada/a%20b', false, 'https://x.org/repo/')
    ).toBe('https://x.org/repo/login?next=%2Fada%2Fa%2520b');
  });

  it('never builds a login link for a page of another site', () => {
    expect(pageLink('https://evil.example/ada/x', false, repo)).toBe(
      'https://evil.example/ada/x'
    );
    expect(pageLink(`${repo}.evil.example/ada/x`, false, repo)).toBe(
      `${repo}.evil.example/ada/x`
    );
  });
});

describe('environmentPlan (defect 10: what an install will do)', () => {
  const environment: IPackageInfo = {
    name: 'tides-env',
    public: true,
    latest_version: '2',
    files: [
      {
        basename: 'environment.yml',
        version: '2',
        type: 'env',
        dependencies: {
          conda: ['python=3.11', 'numpy'],
          pip: ['jr-probe==1.2.3']
        }
      },
      {
        basename: 'requirements.txt',
        version: '2',
        type: 'env',
        dependencies: { conda: [], pip: ['jr-probe==1.2.3'] }
      },
      {
        basename: 'environment.yml',
        version: '1',
        type: 'env',
        dependencies: { conda: ['python=3.10'], pip: [] }
      }
    ]
  };

  it('lists the requirements of the latest version once each', () => {
    expect(environmentPlan(environment)).toEqual({
      version: '2',
      conda: ['python=3.11', 'numpy'],
      pip: ['jr-probe==1.2.3']
    });
  });

  it('reads the version asked for', () => {
    expect(environmentPlan(environment, '1')).toEqual({
      version: '1',
      conda: ['python=3.10'],
      pip: []
    });
  });

  it('follows a notebook to its attached environment', () => {
    expect(attachedEnvironment(privateNotebook)).toEqual({
      owner: 'ada',
      name: 'tides-env',
      version: '2'
    });
    expect(attachedEnvironment(environment)).toBeNull();
  });
});

import { nullTranslator } from '@jupyterlab/translation';

import { formatSize, slugify } from '../dom';
import { kernelTarget, kindOf, targetForPath } from '../targets';

const trans = nullTranslator.load('jupyter_repo');

describe('kindOf', () => {
  it.each([
    [{ type: 'notebook', path: 'a/Analysis.ipynb' }, 'notebook'],
    [{ type: 'file', path: 'a/Analysis.ipynb' }, 'notebook'],
    [{ type: 'file', path: 'environment.yml' }, 'environment'],
    [{ type: 'file', path: 'binder/env.YAML' }, 'environment'],
    [{ type: 'file', path: 'requirements-dev.txt' }, 'environment'],
    [{ type: 'directory', path: 'field-notes' }, 'project'],
    [{ type: 'file', path: 'notes.txt' }, null],
    [{ type: 'file', path: 'data.csv' }, null]
  ])('%j is a %s', (model, kind) => {
    expect(kindOf(model)).toBe(kind);
  });
});

describe('targetForPath', () => {
  it('proposes a repository-friendly name from the file', () => {
    const target = targetForPath(
      { type: 'notebook', path: 'work/My Analysis (v2).ipynb' },
      trans
    );
    expect(target).toMatchObject({
      kind: 'notebook',
      path: 'work/My Analysis (v2).ipynb',
      defaultName: 'my-analysis-v2',
      description: 'Publishes the notebook “work/My Analysis (v2).ipynb”.'
    });
  });

  it('names a project after its folder, the root folder "project"', () => {
    expect(
      targetForPath({ type: 'directory', path: 'a/Field Notes' }, trans)
    ).toMatchObject({ kind: 'project', defaultName: 'field-notes' });
    expect(targetForPath({ type: 'directory', path: '' }, trans)).toMatchObject(
      {
        defaultName: 'project',
        description: 'Publishes the folder, as a project, “/”.'
      }
    );
  });

  it('refuses what cannot be published', () => {
    expect(targetForPath({ type: 'file', path: 'x.png' }, trans)).toBeNull();
  });
});

describe('kernelTarget', () => {
  it('names the running kernel by id and name', () => {
    const document = {
      context: {
        path: 'analysis.ipynb',
        sessionContext: {
          session: { kernel: { name: 'python3', id: 'k-1' } }
        }
      }
    };
    expect(kernelTarget(document, trans)).toEqual({
      kind: 'environment',
      kernelName: 'python3',
      kernelId: 'k-1',
      notebookPath: 'analysis.ipynb',
      defaultName: 'analysis-env',
      description:
        'Publishes the environment of the kernel “python3” used by “analysis.ipynb”.'
    });
  });

  it('needs a running kernel', () => {
    const document = {
      context: { path: 'a.ipynb', sessionContext: { session: null } }
    };
    expect(kernelTarget(document, trans)).toBeNull();
    expect(kernelTarget(null, trans)).toBeNull();
  });
});

describe('slugify and formatSize', () => {
  it('slugifies names', () => {
    expect(slugify('  ..Données 2024!.ipynb')).toBe('donn-es-2024-.ipynb');
    expect(slugify('x'.repeat(150))).toHaveLength(100);
  });

  it('formats sizes in decimal units', () => {
    expect(formatSize(1, trans)).toBe('1 byte');
    expect(formatSize(27, trans)).toBe('27 bytes');
    expect(formatSize(1500, trans)).toBe('1.5 kB');
    expect(formatSize(2_500_000, trans)).toBe('2.5 MB');
    expect(formatSize(7e12, trans)).toBe('7000.0 GB');
  });
});

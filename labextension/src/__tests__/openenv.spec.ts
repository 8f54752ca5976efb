import { logTail, notebookEnvironment } from '../openenv';

describe('notebookEnvironment', () => {
  it('reads the environment of the jupyter_repo record', () => {
    expect(
      notebookEnvironment({
        kernelspec: { name: 'python3' },
        jupyter_repo: {
          owner: 'ada',
          name: 'analysis',
          version: '2',
          environment: { owner: 'ada', name: 'analysis-env', version: '3' }
        }
      })
    ).toEqual({ owner: 'ada', name: 'analysis-env', version: '3' });
  });

  it('takes a link without a version as the latest', () => {
    expect(
      notebookEnvironment({
        jupyter_repo: { environment: { owner: 'ada', name: 'env' } }
      })
    ).toEqual({ owner: 'ada', name: 'env', version: null });
  });

  it.each([
    undefined,
    null,
    'text',
    {},
    { jupyter_repo: 'x' },
    { jupyter_repo: { owner: 'ada', name: 'nb', version: '1' } },
    { jupyter_repo: { environment: { owner: 'ada' } } },
    { jupyter_repo: { environment: { owner: '', name: 'env' } } },
    { jupyter_repo: { environment: { owner: 1, name: 'env' } } }
  ])('finds none in %p', metadata => {
    expect(notebookEnvironment(metadata)).toBeNull();
  });
});

describe('logTail', () => {
  it('keeps the last lines', () => {
    expect(logTail(['a', 'b', 'c'], 2)).toBe('b\nc');
    expect(logTail([], 2)).toBe('');
  });
});

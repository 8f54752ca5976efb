/**
 * "Open with its environment": the server builds (or reuses) a new environment from the
 * environment attached to a published notebook and registers it as a kernel (the
 * `create-environment` task); a dialog shows its progress and live log and can cancel
 * it; then the notebook opens with that kernel (downloaded first, as "Open" does, or the
 * notebook already open switches to it).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import type { ITask, RepoClient } from './api';
import { h } from './dom';
import { messageOf } from './errors';

/** An environment on the repository, as a notebook's metadata links to it. */
export interface IEnvironmentRef {
  owner: string;
  name: string;
  version: string | null;
}

/** What the create-environment task answers. */
export interface ICreatedEnvironment {
  kernel_name: string;
  display_name: string;
  reused: boolean;
  prefix: string;
  message: string;
}

function refOf(value: unknown): IEnvironmentRef | null {
  if (!value || typeof value !== 'object') {
    return null;
  }
  const record = value as { [key: string]: unknown };
  const { owner, name, version } = record;
  if (
    typeof owner !== 'string' ||
    typeof name !== 'string' ||
    !owner ||
    !name
  ) {
    return null;
  }
  return {
    owner,
    name,
    version: typeof version === 'string' && version ? version : null
  };
}

/**
 * The environment a notebook's metadata says it was published with (the `environment`
 * of its `jupyter_repo` record), or null.
 */
export function notebookEnvironment(metadata: unknown): IEnvironmentRef | null {
  if (!metadata || typeof metadata !== 'object') {
    return null;
  }
  const record = (metadata as { [key: string]: unknown })['jupyter_repo'];
  if (!record || typeof record !== 'object') {
    return null;
  }
  return refOf((record as { [key: string]: unknown })['environment']);
}

/** The last lines of a log, as many as fit the dialog (the whole log stays on the server). */
export function logTail(lines: string[], keep = 200): string {
  return lines.slice(-keep).join('\n');
}

const POLL_MS = 500;

/** The dialog body: progress bar, current step, live log. */
class ProgressBody extends Widget {
  constructor() {
    super({ node: h('div', { class: 'jp-JupyterRepo-envProgress' }) });
    this.bar = h('progress', { class: 'jp-JupyterRepo-progress', max: '1' });
    this.step = h('div', {
      class: 'jp-JupyterRepo-progressMessage',
      role: 'status'
    });
    this.log = h('pre', { class: 'jp-JupyterRepo-envLog' });
    this.node.append(this.bar, this.step, this.log);
  }

  render(task: ITask<unknown>, lines: string[] | null): void {
    if (task.progress === null) {
      this.bar.removeAttribute('value');
    } else {
      this.bar.value = task.progress;
    }
    this.step.textContent = task.message;
    if (lines) {
      const atEnd =
        this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
      this.log.textContent = logTail(lines);
      if (atEnd) {
        this.log.scrollTop = this.log.scrollHeight;
      }
    }
  }

  fail(text: string): void {
    this.step.textContent = text;
    this.step.classList.add('jp-JupyterRepo-error');
  }

  readonly bar: HTMLProgressElement;
  readonly step: HTMLElement;
  readonly log: HTMLElement;
}

/**
 * Build (or reuse) the environment of `owner/name[/version]` (an environment, or a
 * notebook: its attached one) as a kernel, showing progress and the live log; answer the
 * new kernel, or null when it failed (the dialog then stays open with the reason) or the
 * user cancelled.
 */
export async function createEnvironment(
  client: RepoClient,
  ref: IEnvironmentRef,
  trans: TranslationBundle
): Promise<ICreatedEnvironment | null> {
  const spec = `${ref.owner}/${ref.name}${ref.version ? '/' + ref.version : ''}`;
  const body = new ProgressBody();
  const dialog = new Dialog({
    title: trans.__('Building the environment of %1', spec),
    body,
    buttons: [Dialog.cancelButton({ label: trans.__('Cancel') })]
  });
  dialog.addClass('jp-JupyterRepo-dialog');
  dialog.addClass('jp-JupyterRepo-envDialog');
  let finished = false;
  let taskId: string | null = null;
  const closed = dialog.launch().then(
    () => {
      if (!finished && taskId) {
        void client.cancelTask(taskId).catch(() => undefined);
      }
      finished = true;
    },
    () => undefined
  );
  const button = () =>
    dialog.node.querySelector<HTMLButtonElement>('.jp-Dialog-button');
  const fail = (text: string) => {
    finished = true;
    body.fail(text);
    const close = button();
    if (close) {
      close.textContent = trans.__('Close');
    }
    Notification.error(text);
  };
  try {
    const started = await client.createEnvironment({
      owner: ref.owner,
      name: ref.name,
      version: ref.version ?? undefined
    });
    taskId = started.task_id;
    for (;;) {
      const task = await client.getTask<ICreatedEnvironment>(taskId);
      const lines = await client.taskLog(taskId).catch(() => null);
      if (dialog.isDisposed || finished) {
        return null; // the user cancelled (the task was told to stop)
      }
      body.render(task, lines);
      if (task.state === 'succeeded' && task.result) {
        finished = true;
        dialog.resolve(0);
        await closed;
        return task.result;
      }
      if (task.state === 'failed' || task.state === 'cancelled') {
        fail(task.error || task.message || trans.__('Building failed.'));
        return null;
      }
      await new Promise(resolve => setTimeout(resolve, POLL_MS));
    }
  } catch (error) {
    fail(messageOf(error));
    return null;
  }
}

/**
 * "Open with its environment" from the sidebar: build the notebook's environment, then
 * download the notebook into the workspace and open it with the new kernel.
 */
export async function openWithEnvironment(
  app: JupyterFrontEnd,
  client: RepoClient,
  notebook: IEnvironmentRef,
  trans: TranslationBundle
): Promise<string | null> {
  const created = await createEnvironment(client, notebook, trans);
  if (!created) {
    return null;
  }
  await app.serviceManager.kernelspecs.refreshSpecs();
  const { path } = await client.openNotebook({
    owner: notebook.owner,
    name: notebook.name,
    version: notebook.version ?? undefined,
    kernel_name: created.kernel_name
  });
  await app.commands.execute('docmanager:open', {
    path,
    kernel: { name: created.kernel_name }
  });
  Notification.success(
    trans.__('Opened %1 with the kernel “%2”.', path, created.display_name),
    { autoClose: 5000 }
  );
  return path;
}

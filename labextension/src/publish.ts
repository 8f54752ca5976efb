/**
 * The publish dialog: where to (namespace), under which name and version, with which
 * summary, label and visibility, and for notebooks whether the kernel's environment goes
 * along. For a project it first lists the files that would be packed (count, size, the
 * files, what is left out); hidden files go only when asked, credential files never. It
 * starts the server-side task, shows its progress, then a link to the published page or
 * the reason it failed, without closing.
 */
import { Dialog, Notification, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import {
  IProjectPreview,
  IPublishResult,
  IStatus,
  ITask,
  previewProject,
  publish,
  RepoError,
  waitForTask
} from './api';
import { field, h } from './dom';
import { openLoginDialog } from './login';
import { RepositoryState } from './state';
import { IPublishTarget } from './targets';

/** What an earlier publish wrote into the notebook (metadata key `jupyter_repo`). */
interface IPublishedMetadata {
  owner?: string;
  name?: string;
  version?: string;
  url?: string;
}

function previousPublish(target: IPublishTarget): IPublishedMetadata | null {
  const model = target.context?.model as any;
  const value = model?.getMetadata?.('jupyter_repo');
  return value && typeof value === 'object' ? (value as IPublishedMetadata) : null;
}

const NEEDS_LOGIN = ['unauthorized', 'not_configured'];

/** `1.5 MB`-style sizes (decimal units, as the CLI prints them). */
export function formatSize(bytes: number): string {
  if (bytes < 1000) {
    return `${bytes} bytes`;
  }
  const units = ['kB', 'MB', 'GB'];
  let value = bytes;
  for (const unit of units) {
    value /= 1000;
    if (value < 1000 || unit === 'GB') {
      return `${value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

const HIDDEN_REASON = 'hidden (include hidden files to publish it)';

class PublishForm extends Widget {
  /** True once the publish succeeded: the dialog's main button then closes it. */
  finished = false;
  busy = false;
  /** True while the file list of a project is being fetched (Publish waits for it). */
  loading = false;
  onFinished: () => void = () => undefined;
  onBusy: (busy: boolean) => void = () => undefined;

  constructor(
    private readonly target: IPublishTarget,
    status: IStatus,
    private readonly state: RepositoryState
  ) {
    super();
    this.addClass('jp-JupyterRepo-form');
    this.addClass('jp-JupyterRepo-publishForm');
    const previous = previousPublish(target);

    this.namespace = h('select', { name: 'namespace' });
    for (const namespace of status.namespaces) {
      const kind = namespace.kind === 'org' ? 'organization' : 'you';
      const option = h('option', { value: namespace.login }, `${namespace.login} (${kind})`);
      option.selected = namespace.login === (previous?.owner ?? status.user?.login);
      this.namespace.appendChild(option);
    }
    this.name = h('input', {
      type: 'text',
      name: 'name',
      required: true,
      maxlength: '100',
      value: previous?.name ?? target.defaultName
    });
    this.version = h('input', {
      type: 'text',
      name: 'version',
      placeholder: 'next number (1, 2, 3…)'
    });
    this.summary = h('input', { type: 'text', name: 'summary', maxlength: '300' });
    this.label = h('input', { type: 'text', name: 'label', value: 'main' });
    this.visibility = h(
      'select',
      { name: 'visibility' },
      h('option', { value: 'public' }, 'Public: anyone can find and open it'),
      h('option', { value: 'private' }, 'Private: only you and those you share it with')
    );
    this.attachEnvironment = h('input', {
      type: 'checkbox',
      name: 'attach_environment',
      checked: true
    });
    this.includeHidden = h('input', { type: 'checkbox', name: 'include_hidden' });
    this.includeHidden.addEventListener('change', () => void this.loadPreview());
    this.previewSummary = h('p', { class: 'jp-JupyterRepo-previewSummary' }, 'Listing the files…');
    this.previewList = h('ul', { class: 'jp-JupyterRepo-previewList' });
    this.previewNotes = h('div', { class: 'jp-JupyterRepo-previewNotes' });

    this.progress = h('progress', { class: 'jp-JupyterRepo-progress', max: '1' });
    this.progressMessage = h('span', { class: 'jp-JupyterRepo-progressMessage' });
    this.progressRow = h(
      'div',
      { class: 'jp-JupyterRepo-progressRow', hidden: true },
      this.progress,
      this.progressMessage
    );
    this.error = h('div', { class: 'jp-JupyterRepo-error', role: 'alert', hidden: true });
    this.result = h('div', { class: 'jp-JupyterRepo-result', hidden: true });

    const earlier =
      previous?.version && previous.url
        ? h(
            'p',
            { class: 'jp-JupyterRepo-previous' },
            `Version ${previous.version} was published earlier: `,
            h('a', { href: previous.url, target: '_blank', rel: 'noopener' }, previous.url),
            '. Publishing again creates the next version.'
          )
        : null;

    this.fields = h(
      'div',
      { class: 'jp-JupyterRepo-fields' },
      field('Namespace', this.namespace),
      field('Name', this.name),
      field('Version', this.version, 'Leave empty for the next number.'),
      field('Summary', this.summary),
      field('Label', this.label),
      field('Visibility', this.visibility),
      target.kind === 'notebook'
        ? h(
            'label',
            { class: 'jp-JupyterRepo-checkbox' },
            this.attachEnvironment,
            ' Attach the kernel’s environment, so others can recreate it'
          )
        : '',
      target.kind === 'project'
        ? h(
            'div',
            { class: 'jp-JupyterRepo-preview' },
            h(
              'label',
              { class: 'jp-JupyterRepo-checkbox' },
              this.includeHidden,
              ' Include hidden files and folders (names starting with “.”)'
            ),
            this.previewSummary,
            this.previewList,
            this.previewNotes
          )
        : ''
    );
    this.node.append(
      h('p', { class: 'jp-JupyterRepo-description' }, target.description),
      earlier ?? '',
      this.fields,
      this.progressRow,
      this.error,
      this.result
    );
    if (target.kind === 'project') {
      void this.loadPreview();
    }
  }

  /**
   * List what the publish would pack. Publishing waits for the list, so what the user saw
   * is what is asked for; a folder that cannot be published (a home folder, too many
   * files) says why here, before anything is sent.
   */
  async loadPreview(): Promise<void> {
    const generation = ++this.previewGeneration;
    this.preview = null;
    this.previewError = '';
    this.previewSummary.textContent = 'Listing the files…';
    this.previewList.replaceChildren();
    this.previewNotes.replaceChildren();
    this.loading = true;
    this.onBusy(true);
    try {
      const preview = await previewProject(this.target.path ?? '', this.includeHidden.checked);
      if (generation === this.previewGeneration) {
        this.showPreview(preview);
      }
    } catch (error) {
      if (generation === this.previewGeneration) {
        this.previewError = error instanceof RepoError ? error.message : String(error);
        this.previewSummary.textContent = 'This folder cannot be published.';
        this.showError(this.previewError);
      }
    } finally {
      if (generation === this.previewGeneration) {
        this.loading = false;
        this.onBusy(this.busy);
      }
    }
  }

  private showPreview(preview: IProjectPreview): void {
    this.preview = preview;
    this.error.hidden = true;
    const files = preview.file_count === 1 ? 'file' : 'files';
    this.previewSummary.textContent =
      `${preview.file_count} ${files}, ${formatSize(preview.total_size)} will be published` +
      (preview.spec_file ? '.' : ' (with an environment.yml captured from the kernel).');
    this.previewList.replaceChildren(
      ...preview.files.map(file =>
        h(
          'li',
          {},
          h('span', { class: 'jp-JupyterRepo-previewPath' }, file.path),
          h('span', { class: 'jp-JupyterRepo-previewSize' }, formatSize(file.size))
        )
      ),
      preview.files_truncated
        ? h('li', {}, `… and ${preview.file_count - preview.files.length} more`)
        : ''
    );
    const hidden = preview.excluded.filter(item => item.reason === HIDDEN_REASON);
    const others = preview.excluded_count - hidden.length - preview.credentials.length;
    this.previewNotes.replaceChildren(
      preview.credentials.length
        ? h(
            'p',
            { class: 'jp-JupyterRepo-previewCredentials' },
            `Never published (credentials): ${preview.credentials.join(', ')}`
          )
        : '',
      hidden.length
        ? h(
            'p',
            { class: 'jp-JupyterRepo-previewHidden' },
            `${hidden.length} hidden left out: ` +
              hidden
                .slice(0, 8)
                .map(item => item.path)
                .join(', ') +
              (hidden.length > 8 ? ', …' : '')
          )
        : '',
      others > 0
        ? h(
            'p',
            { class: 'jp-JupyterRepo-hint' },
            `${others} more left out (checkpoints, caches, .gitignore, links, size).`
          )
        : ''
    );
  }

  /** Start the publish and follow it to the end; errors stay in the dialog. */
  async submit(): Promise<void> {
    if (this.busy || this.finished) {
      return;
    }
    const name = this.name.value.trim();
    if (!name) {
      this.showError('Enter a name for the package.');
      return;
    }
    if (this.target.kind === 'project' && !this.preview) {
      this.showError(this.previewError || 'Wait for the list of files first.');
      return;
    }
    if (this.target.kind === 'project' && this.preview?.file_count === 0) {
      this.showError('Nothing to publish: every file of this folder is left out.');
      return;
    }
    if (!this.namespace.value) {
      this.showError(
        'Your account may not publish to any namespace of this repository. ' +
          'Ask its administrator for access.'
      );
      return;
    }
    this.setBusy(true);
    this.error.hidden = true;
    this.showProgress(null, 'Starting…');
    try {
      const context = this.target.context;
      if (context && context.model.dirty) {
        this.showProgress(null, 'Saving the notebook…');
        await context.save();
      }
      const ref = await publish(this.target.kind, this.request(name));
      const task = await waitForTask(ref.task_id, update =>
        this.showProgress(update.progress, update.message || update.state)
      );
      this.finish(task);
    } catch (error) {
      this.fail(error instanceof RepoError ? error : new RepoError(String(error), '', 0));
    }
  }

  private request(name: string): { [key: string]: unknown } {
    const request: { [key: string]: unknown } = {
      namespace: this.namespace.value,
      name,
      summary: this.summary.value.trim(),
      label: this.label.value.trim() || 'main',
      public: this.visibility.value === 'public'
    };
    const version = this.version.value.trim();
    if (version) {
      request.version = version;
    }
    if (this.target.path !== undefined) {
      request.path = this.target.path;
    }
    // A running kernel is named by its id (its environment is what runs), else by name.
    if (this.target.kernelId) {
      request.kernel_id = this.target.kernelId;
    } else if (this.target.kernelName) {
      request.kernel_name = this.target.kernelName;
    }
    if (this.target.kind === 'notebook') {
      request.attach_environment = this.attachEnvironment.checked;
    }
    if (this.target.kind === 'project') {
      request.include_hidden = this.includeHidden.checked;
    }
    return request;
  }

  private finish(task: ITask): void {
    if (task.state !== 'succeeded') {
      const message =
        task.error ||
        (task.state === 'cancelled' ? 'The publish was cancelled.' : task.message) ||
        'The publish failed.';
      this.fail(new RepoError(message, task.state, 0));
      return;
    }
    const result = (task.result ?? {}) as Partial<IPublishResult> & { [key: string]: any };
    this.progressRow.hidden = true;
    this.fields.hidden = true;
    this.result.replaceChildren(
      h('p', {}, `Published ${result.owner}/${result.name}, version ${result.version}.`),
      result.html_url
        ? h(
            'p',
            {},
            h(
              'a',
              { href: result.html_url, target: '_blank', rel: 'noopener' },
              'Open the published page'
            )
          )
        : '',
      result.environment?.html_url
        ? h(
            'p',
            {},
            'With its environment: ',
            h(
              'a',
              { href: result.environment.html_url, target: '_blank', rel: 'noopener' },
              `${result.environment.owner}/${result.environment.name}`
            )
          )
        : ''
    );
    this.result.hidden = false;
    this.finished = true;
    this.setBusy(false);
    this.onFinished();
    if (result.owner && result.name) {
      this.state.notifyPublished(result.owner, result.name);
    }
    this.syncNotebook(result.notebook_metadata);
    if (!this.isAttached) {
      Notification.success(`Published ${result.owner}/${result.name} ${result.version}.`);
    }
  }

  /**
   * The server recorded the publish in the notebook's metadata on disk. While the dialog
   * is open nobody can have edited the notebook since it was saved for the publish, so
   * reloading it is safe and keeps the record; otherwise the record goes into the open
   * notebook without touching the user's edits.
   */
  private syncNotebook(record: unknown): void {
    const context = this.target.context;
    if (!context || this.target.kind !== 'notebook') {
      return;
    }
    const model = context.model as any;
    if (this.isAttached || !model.dirty) {
      void context.revert();
    } else if (record && typeof model.setMetadata === 'function') {
      model.setMetadata('jupyter_repo', record);
    }
  }

  private fail(error: RepoError): void {
    this.progressRow.hidden = true;
    const hint = NEEDS_LOGIN.includes(error.reason) || error.status === 401
      ? ' Open “Repository settings…” to log in again.'
      : '';
    this.showError(error.message + hint);
    this.setBusy(false);
    if (!this.isAttached) {
      Notification.error(`Publishing failed: ${error.message}`);
    }
  }

  private showError(message: string): void {
    this.error.textContent = message;
    this.error.hidden = false;
  }

  private showProgress(fraction: number | null, message: string): void {
    this.progressRow.hidden = false;
    if (fraction === null || fraction === undefined) {
      this.progress.removeAttribute('value');
    } else {
      this.progress.value = fraction;
    }
    this.progressMessage.textContent = message;
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    for (const control of [
      this.namespace,
      this.name,
      this.version,
      this.summary,
      this.label,
      this.visibility,
      this.attachEnvironment,
      this.includeHidden
    ]) {
      control.disabled = busy || this.finished;
    }
    this.onBusy(busy);
  }

  private readonly namespace: HTMLSelectElement;
  private readonly name: HTMLInputElement;
  private readonly version: HTMLInputElement;
  private readonly summary: HTMLInputElement;
  private readonly label: HTMLInputElement;
  private readonly visibility: HTMLSelectElement;
  private readonly attachEnvironment: HTMLInputElement;
  private readonly includeHidden: HTMLInputElement;
  private readonly previewSummary: HTMLElement;
  private readonly previewList: HTMLElement;
  private readonly previewNotes: HTMLElement;
  private preview: IProjectPreview | null = null;
  private previewError = '';
  private previewGeneration = 0;
  private readonly fields: HTMLElement;
  private readonly progress: HTMLProgressElement;
  private readonly progressMessage: HTMLElement;
  private readonly progressRow: HTMLElement;
  private readonly error: HTMLElement;
  private readonly result: HTMLElement;
}

/** Keeps the dialog open while publishing; its main button publishes, then closes. */
class PublishDialog extends Dialog<void> {
  constructor(
    private readonly form: PublishForm,
    title: string
  ) {
    super({
      title,
      body: form,
      buttons: [Dialog.cancelButton({ label: 'Close' }), Dialog.okButton({ label: 'Publish' })],
      focusNodeSelector: 'input[name="name"]'
    });
    this.addClass('jp-JupyterRepo-dialog');
    form.onBusy = busy => {
      const accept = this.acceptButton();
      if (accept) {
        accept.disabled = busy;
      }
    };
    form.onBusy(form.busy || form.loading);
    form.onFinished = () => {
      const accept = this.acceptButton();
      if (accept) {
        accept.hidden = true;
      }
    };
  }

  resolve(index?: number): void {
    const accept = index === undefined || index === 1;
    if (accept && !this.form.finished) {
      void this.form.submit();
      return;
    }
    super.resolve(index);
  }

  private acceptButton(): HTMLButtonElement | null {
    return this.node.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept');
  }
}

/** Open the publish dialog for a target, asking the user to log in first if needed. */
export async function openPublishDialog(
  state: RepositoryState,
  target: IPublishTarget
): Promise<void> {
  let status = await state.refresh();
  if (state.serverError) {
    await showErrorMessage('The repository is not available', state.serverError);
    return;
  }
  if (!status.connected) {
    const connected = await openLoginDialog(
      state,
      status.error ?? 'Log in to the repository to publish.'
    );
    if (!connected) {
      return;
    }
    status = state.status;
  }
  const title =
    target.kind === 'environment' && target.kernelName
      ? 'Share environment'
      : 'Publish to repository';
  const dialog = new PublishDialog(new PublishForm(target, status, state), title);
  await dialog.launch();
}

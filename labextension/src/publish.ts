/**
 * The publish dialog: where to (namespace), under which name and version, with which
 * summary, label and visibility, and for notebooks whether the kernel's environment goes
 * along; the defaults come from the user's settings. For a project it first lists the
 * files that would be packed (count, size, the files, what is left out); hidden files go
 * only when asked, credential files never. It starts the server-side task, shows its
 * progress, then a link to the published page or the reason it failed, without closing.
 */
import { Dialog, Notification, showErrorMessage } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import type {
  IProjectPreview,
  IPublishedMetadata,
  IPublishRequest,
  IPublishResult,
  IStatus,
  ITask
} from './api';
import { field, formatSize, h } from './dom';
import { messageOf, RepoError, taskError } from './errors';
import { openLoginDialog } from './login';
import {
  describePublished,
  IPackageInfo,
  packageSettings,
  pageLink
} from './published';
import { IPublishDefaults, publishDefaults } from './settings';
import { RepositoryState } from './state';
import type { IPublishTarget } from './targets';

/** Where a publish is recorded in a notebook's metadata. */
const METADATA_KEY = 'jupyter_repo';

/** The part of a notebook model that holds metadata. */
interface IMetadataModel {
  readonly dirty: boolean;
  getMetadata(key: string): unknown;
  setMetadata(key: string, value: unknown): void;
}

function metadataModel(target: IPublishTarget): IMetadataModel | null {
  const model: unknown = target.context?.model;
  const candidate = model as Partial<IMetadataModel> | undefined;
  return typeof candidate?.getMetadata === 'function' &&
    typeof candidate?.setMetadata === 'function'
    ? (candidate as IMetadataModel)
    : null;
}

/** What an earlier publish wrote into the notebook. */
function previousPublish(target: IPublishTarget): IPublishedMetadata | null {
  const value = metadataModel(target)?.getMetadata(METADATA_KEY);
  return value && typeof value === 'object'
    ? (value as IPublishedMetadata)
    : null;
}

/** How long typing in the name waits before the package is looked up. */
const PACKAGE_DELAY_MS = 300;

/** The server's wording for a hidden file left out (projects/preview). */
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
    const trans = (this.trans = state.trans);
    this.addClass('jp-JupyterRepo-form');
    this.addClass('jp-JupyterRepo-publishForm');
    const previous = previousPublish(target);
    const defaults = (this.defaults = publishDefaults(
      state.settings,
      status,
      previous
    ));

    this.namespace = h('select', { name: 'namespace', class: 'jp-mod-styled' });
    for (const namespace of status.namespaces) {
      const text =
        namespace.kind === 'org'
          ? trans.__('%1 (organization)', namespace.login)
          : trans.__('%1 (you)', namespace.login);
      const option = h('option', { value: namespace.login }, text);
      option.selected = namespace.login === defaults.namespace;
      this.namespace.appendChild(option);
    }
    this.name = h('input', {
      type: 'text',
      name: 'name',
      class: 'jp-mod-styled',
      required: true,
      maxlength: '100',
      value: previous?.name ?? target.defaultName
    });
    this.version = h('input', {
      type: 'text',
      name: 'version',
      class: 'jp-mod-styled',
      placeholder: trans.__('next number (1, 2, 3…)')
    });
    this.summary = h('input', {
      type: 'text',
      name: 'summary',
      class: 'jp-mod-styled',
      maxlength: '300'
    });
    this.label = h('input', {
      type: 'text',
      name: 'label',
      class: 'jp-mod-styled',
      value: defaults.label
    });
    this.visibility = h(
      'select',
      { name: 'visibility', class: 'jp-mod-styled' },
      h(
        'option',
        { value: 'public' },
        trans.__('Public: anyone can find and open it')
      ),
      h(
        'option',
        { value: 'private' },
        trans.__('Private: only you and those you share it with')
      )
    );
    this.visibility.value = defaults.visibility;
    // What the user chose stays; until then the fields follow the package's settings.
    this.visibility.addEventListener('change', () => {
      this.visibilityChosen = true;
    });
    this.label.addEventListener('input', () => {
      this.labelChosen = true;
    });
    this.current = h('p', {
      class: 'jp-JupyterRepo-current',
      role: 'status',
      hidden: true
    });
    this.namespace.addEventListener('change', () => this.schedulePackage());
    this.name.addEventListener('input', () => this.schedulePackage());
    this.attachEnvironment = h('input', {
      type: 'checkbox',
      name: 'attach_environment',
      checked: defaults.attachEnvironment
    });
    this.includeHidden = h('input', {
      type: 'checkbox',
      name: 'include_hidden'
    });
    this.includeHidden.addEventListener(
      'change',
      () => void this.loadPreview()
    );
    this.previewSummary = h(
      'p',
      { class: 'jp-JupyterRepo-previewSummary' },
      trans.__('Listing the files…')
    );
    this.previewList = h('ul', { class: 'jp-JupyterRepo-previewList' });
    this.previewNotes = h('div', { class: 'jp-JupyterRepo-previewNotes' });

    this.progress = h('progress', {
      class: 'jp-JupyterRepo-progress',
      max: '1'
    });
    this.progressMessage = h('span', {
      class: 'jp-JupyterRepo-progressMessage'
    });
    this.progressRow = h(
      'div',
      { class: 'jp-JupyterRepo-progressRow', hidden: true },
      this.progress,
      this.progressMessage
    );
    this.error = h('div', {
      class: 'jp-JupyterRepo-error',
      role: 'alert',
      hidden: true
    });
    this.result = h('div', {
      class: 'jp-JupyterRepo-result',
      role: 'status',
      hidden: true
    });

    this.previous = previous;
    this.earlierLink =
      previous?.version && previous.url
        ? h(
            'a',
            { href: previous.url, target: '_blank', rel: 'noopener' },
            previous.url
          )
        : null;
    const earlier = this.earlierLink
      ? h(
          'p',
          { class: 'jp-JupyterRepo-previous' },
          trans.__(
            'Version %1 was published earlier: ',
            previous?.version ?? ''
          ),
          this.earlierLink,
          trans.__('. Publishing again creates the next version.')
        )
      : null;

    this.fields = h(
      'div',
      { class: 'jp-JupyterRepo-fields' },
      field(trans.__('Namespace'), this.namespace),
      field(trans.__('Name'), this.name),
      field(
        trans.__('Version'),
        this.version,
        trans.__('Leave empty for the next number.')
      ),
      field(trans.__('Summary'), this.summary),
      this.current,
      field(trans.__('Label'), this.label),
      field(trans.__('Visibility'), this.visibility),
      target.kind === 'notebook'
        ? h(
            'label',
            { class: 'jp-JupyterRepo-checkbox' },
            this.attachEnvironment,
            ' ',
            trans.__(
              'Attach the kernel’s environment, so others can recreate it'
            )
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
              ' ',
              trans.__(
                'Include hidden files and folders (names starting with “.”)'
              )
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
    void this.loadPackage();
  }

  private schedulePackage(): void {
    window.clearTimeout(this.packageTimer);
    this.packageTimer = window.setTimeout(
      () => void this.loadPackage(),
      PACKAGE_DELAY_MS
    );
  }

  /**
   * Read the package the publish would add a version to: a republish starts from its
   * visibility and the label of its latest version (not from the defaults), and the
   * dialog says what exists. Publishing waits for it, so what is sent is what was shown.
   */
  async loadPackage(): Promise<void> {
    const generation = ++this.packageGeneration;
    const owner = this.namespace.value;
    const name = this.name.value.trim();
    if (!owner || !name) {
      this.current.hidden = true;
      return;
    }
    this.packageLoading = true;
    this.onBusy(this.busy || this.loading || this.packageLoading);
    let info: IPackageInfo | null = null;
    let problem = '';
    try {
      info = await this.state.client.packageInfo(owner, name);
    } catch (error) {
      problem = messageOf(error);
    }
    if (generation !== this.packageGeneration) {
      return;
    }
    this.packageLoading = false;
    this.packageKey = `${owner}/${name}`;
    // The earlier version's page: through the login when the package is private.
    const previous = this.previous;
    if (
      info &&
      this.earlierLink &&
      previous?.url &&
      previous.name === name &&
      previous.owner?.toLowerCase() === owner.toLowerCase()
    ) {
      this.earlierLink.href = pageLink(
        previous.url,
        info.public !== false,
        this.state.status.url
      );
    }
    this.onBusy(this.busy || this.loading);
    const trans = this.trans;
    if (problem) {
      this.current.textContent = trans.__(
        'Could not read %1/%2: %3',
        owner,
        name,
        problem
      );
    } else if (!info) {
      // A new package starts from the user's settings, whatever was read before.
      if (!this.visibilityChosen) {
        this.visibility.value = this.defaults.visibility;
      }
      if (!this.labelChosen) {
        this.label.value = this.defaults.label;
      }
      this.current.textContent = trans.__(
        '%1/%2 is new: publishing creates it.',
        owner,
        name
      );
    } else {
      const settings = packageSettings(info);
      if (!this.visibilityChosen) {
        this.visibility.value = settings.visibility;
      }
      if (!this.labelChosen && settings.label) {
        this.label.value = settings.label;
      }
      const visibility =
        settings.visibility === 'private'
          ? trans.__('private')
          : trans.__('public');
      this.current.textContent = settings.label
        ? trans.__(
            '%1/%2 exists (%3, latest version %4 has label “%5”); publishing adds a version.',
            owner,
            name,
            visibility,
            settings.latestVersion ?? '—',
            settings.label
          )
        : trans.__(
            '%1/%2 exists (%3, latest version %4); publishing adds a version.',
            owner,
            name,
            visibility,
            settings.latestVersion ?? '—'
          );
    }
    this.current.hidden = false;
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
    this.previewSummary.textContent = this.trans.__('Listing the files…');
    this.previewList.replaceChildren();
    this.previewNotes.replaceChildren();
    this.loading = true;
    this.onBusy(true);
    try {
      const preview = await this.state.client.previewProject(
        this.target.path ?? '',
        this.includeHidden.checked
      );
      if (generation === this.previewGeneration) {
        this.showPreview(preview);
      }
    } catch (error) {
      if (generation === this.previewGeneration) {
        this.previewError = messageOf(error);
        this.previewSummary.textContent = this.trans.__(
          'This folder cannot be published.'
        );
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
    const trans = this.trans;
    this.preview = preview;
    this.error.hidden = true;
    const size = formatSize(preview.total_size, trans);
    this.previewSummary.textContent = preview.spec_file
      ? trans._n(
          '%1 file, %2 will be published.',
          '%1 files, %2 will be published.',
          preview.file_count,
          size
        )
      : trans._n(
          '%1 file, %2 will be published (with an environment.yml captured from the kernel).',
          '%1 files, %2 will be published (with an environment.yml captured from the kernel).',
          preview.file_count,
          size
        );
    this.previewList.replaceChildren(
      ...preview.files.map(file =>
        h(
          'li',
          {},
          h('span', { class: 'jp-JupyterRepo-previewPath' }, file.path),
          h(
            'span',
            { class: 'jp-JupyterRepo-previewSize' },
            formatSize(file.size, trans)
          )
        )
      ),
      preview.files_truncated
        ? h(
            'li',
            {},
            trans.__('… and %1 more', preview.file_count - preview.files.length)
          )
        : ''
    );
    const hidden = preview.excluded.filter(
      item => item.reason === HIDDEN_REASON
    );
    const others =
      preview.excluded_count - hidden.length - preview.credentials.length;
    const hiddenNames =
      hidden
        .slice(0, 8)
        .map(item => item.path)
        .join(', ') + (hidden.length > 8 ? ', …' : '');
    this.previewNotes.replaceChildren(
      preview.credentials.length
        ? h(
            'p',
            { class: 'jp-JupyterRepo-previewCredentials' },
            trans.__(
              'Never published (credentials): %1',
              preview.credentials.join(', ')
            )
          )
        : '',
      hidden.length
        ? h(
            'p',
            { class: 'jp-JupyterRepo-previewHidden' },
            trans.__('%1 hidden left out: %2', hidden.length, hiddenNames)
          )
        : '',
      others > 0
        ? h(
            'p',
            { class: 'jp-JupyterRepo-hint' },
            trans.__(
              '%1 more left out (checkpoints, caches, .gitignore, links, size).',
              others
            )
          )
        : ''
    );
  }

  /** Start the publish and follow it to the end; errors stay in the dialog. */
  async submit(): Promise<void> {
    const trans = this.trans;
    if (this.busy || this.finished) {
      return;
    }
    const name = this.name.value.trim();
    if (!name) {
      this.showError(trans.__('Enter a name for the package.'));
      return;
    }
    if (this.target.kind === 'project' && !this.preview) {
      this.showError(
        this.previewError || trans.__('Wait for the list of files first.')
      );
      return;
    }
    if (this.target.kind === 'project' && this.preview?.file_count === 0) {
      this.showError(
        trans.__('Nothing to publish: every file of this folder is left out.')
      );
      return;
    }
    if (this.packageLoading) {
      this.showError(trans.__('Wait until the package’s settings are read.'));
      return;
    }
    // Publish only what the user saw: when the name was typed (or changed) faster than
    // the package was read, read it now; if that changes the visibility or the label,
    // show them and wait for another press (never make a private package public unseen).
    if (this.packageKey !== `${this.namespace.value}/${name}`) {
      const before = [this.visibility.value, this.label.value].join('\n');
      window.clearTimeout(this.packageTimer);
      await this.loadPackage();
      if ([this.visibility.value, this.label.value].join('\n') !== before) {
        this.showError(
          trans.__(
            'This package exists: its visibility and label are now shown. Check them, then press Publish again.'
          )
        );
        return;
      }
    }
    if (!this.namespace.value) {
      this.showError(
        trans.__(
          'Your account may not publish to any namespace of this repository. Ask its administrator for access.'
        )
      );
      return;
    }
    this.setBusy(true);
    this.error.hidden = true;
    this.showProgress(null, trans.__('Starting…'));
    try {
      const context = this.target.context;
      if (context && context.model.dirty) {
        this.showProgress(null, trans.__('Saving the notebook…'));
        await context.save();
      }
      const client = this.state.client;
      const ref = await client.publish(this.target.kind, this.request(name));
      const task = await client.waitForTask<IPublishResult>(
        ref.task_id,
        update =>
          this.showProgress(update.progress, update.message || update.state)
      );
      this.finish(task);
    } catch (error) {
      this.fail(
        error instanceof RepoError
          ? error
          : new RepoError(messageOf(error), 'unexpected', 0)
      );
    }
  }

  private request(name: string): IPublishRequest {
    const request: IPublishRequest = {
      namespace: this.namespace.value,
      name,
      summary: this.summary.value.trim(),
      label: this.label.value.trim() || this.state.settings.defaultLabel,
      public: this.visibility.value === 'public'
    };
    const version = this.version.value.trim();
    if (version) {
      request.version = version;
    }
    if (this.target.path !== undefined) {
      request.path = this.target.path;
    } else if (this.target.notebookPath !== undefined) {
      request.path = this.target.notebookPath;
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

  private finish(task: ITask<IPublishResult>): void {
    const trans = this.trans;
    if (task.state !== 'succeeded' || !task.result) {
      this.fail(taskError(task, trans));
      return;
    }
    const result = task.result;
    const environment = result.environment;
    const summary = describePublished(result, trans);
    const link = result.html_url
      ? pageLink(
          result.html_url,
          result.public !== false,
          this.state.status.url
        )
      : '';
    this.progressRow.hidden = true;
    this.fields.hidden = true;
    this.result.replaceChildren(
      h('p', {}, summary),
      link
        ? h(
            'p',
            {},
            h(
              'a',
              { href: link, target: '_blank', rel: 'noopener' },
              trans.__('Open the published page')
            ),
            result.public === false
              ? h(
                  'small',
                  { class: 'jp-JupyterRepo-hint' },
                  ' ',
                  trans.__(
                    '(private: the repository asks you to log in first, then shows it)'
                  )
                )
              : ''
          )
        : '',
      environment?.html_url
        ? h(
            'p',
            {},
            trans.__('With its environment: '),
            h(
              'a',
              { href: environment.html_url, target: '_blank', rel: 'noopener' },
              `${environment.owner}/${environment.name}`
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
    Notification.success(summary, {
      autoClose: 8000,
      actions: link
        ? [
            {
              label: trans.__('Open the page'),
              callback: () => {
                window.open(link, '_blank', 'noopener');
              }
            }
          ]
        : []
    });
  }

  /**
   * The server recorded the publish in the notebook's metadata on disk. While the dialog
   * is open nobody can have edited the notebook since it was saved for the publish, so
   * reloading it is safe and keeps the record; otherwise the record goes into the open
   * notebook without touching the user's edits.
   */
  private syncNotebook(record: IPublishedMetadata | null | undefined): void {
    const context = this.target.context;
    const model = metadataModel(this.target);
    if (!context || !model || this.target.kind !== 'notebook') {
      return;
    }
    if (this.isAttached || !model.dirty) {
      void context.revert();
    } else if (record) {
      model.setMetadata(METADATA_KEY, record);
    }
  }

  private fail(error: RepoError): void {
    const trans = this.trans;
    this.progressRow.hidden = true;
    const hint = error.needsLogin
      ? ' ' + trans.__('Open “Repository settings…” to log in again.')
      : '';
    this.showError(error.message + hint);
    this.setBusy(false);
    Notification.error(trans.__('Publishing failed: %1', error.message), {
      autoClose: false
    });
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

  private readonly trans: TranslationBundle;
  private readonly namespace: HTMLSelectElement;
  private readonly name: HTMLInputElement;
  private readonly version: HTMLInputElement;
  private readonly summary: HTMLInputElement;
  private readonly label: HTMLInputElement;
  private readonly visibility: HTMLSelectElement;
  private readonly attachEnvironment: HTMLInputElement;
  private readonly includeHidden: HTMLInputElement;
  private readonly current: HTMLElement;
  private readonly previous: IPublishedMetadata | null;
  private readonly earlierLink: HTMLAnchorElement | null;
  private readonly defaults: IPublishDefaults;
  private packageLoading = false;
  private packageGeneration = 0;
  private packageTimer = 0;
  /** The owner/name whose settings the fields show. */
  private packageKey = '';
  private visibilityChosen = false;
  private labelChosen = false;
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
    title: string,
    trans: TranslationBundle
  ) {
    super({
      title,
      body: form,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Close') }),
        Dialog.okButton({ label: trans.__('Publish') })
      ],
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
    return this.node.querySelector<HTMLButtonElement>(
      '.jp-Dialog-button.jp-mod-accept'
    );
  }
}

/** Open the publish dialog for a target, asking the user to log in first if needed. */
export async function openPublishDialog(
  state: RepositoryState,
  target: IPublishTarget
): Promise<void> {
  const trans = state.trans;
  let status = await state.refresh();
  if (state.serverError) {
    await showErrorMessage(
      trans.__('The repository is not available'),
      state.serverError
    );
    return;
  }
  if (!status.connected) {
    const connected = await openLoginDialog(
      state,
      status.error ?? trans.__('Log in to the repository to publish.')
    );
    if (!connected) {
      return;
    }
    status = state.status;
  }
  const title =
    target.kind === 'environment' && target.kernelName
      ? trans.__('Share environment')
      : trans.__('Publish to repository');
  const dialog = new PublishDialog(
    new PublishForm(target, status, state),
    title,
    trans
  );
  await dialog.launch();
}

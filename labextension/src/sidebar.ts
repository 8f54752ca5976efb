/**
 * The left-sidebar "Repository" panel: who I am on which repository, my namespaces and
 * their packages, a search, and for each notebook "Open" (download it into the workspace)
 * and "Install environment" (the environment attached to it).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import {
  installEnvironment,
  IPackageItem,
  IStatus,
  listPackages,
  openNotebook,
  RepoError,
  search,
  waitForTask
} from './api';
import { h } from './dom';
import { RepositoryState } from './state';

const SEARCH_DELAY_MS = 300;

function message(error: unknown): string {
  return error instanceof RepoError ? error.message : String(error);
}

export class RepositoryPanel extends Widget {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly state: RepositoryState,
    private readonly openSettings: () => void
  ) {
    super();
    this.id = 'jupyter-repo-sidebar';
    this.addClass('jp-JupyterRepo-panel');
    this.title.caption = 'Repository';

    this.connection = h('div', { class: 'jp-JupyterRepo-connection' });
    const settingsButton = h(
      'button',
      {
        class: 'jp-JupyterRepo-button',
        'data-action': 'settings',
        type: 'button'
      },
      'Settings…'
    );
    settingsButton.addEventListener('click', () => this.openSettings());
    const refreshButton = h(
      'button',
      {
        class: 'jp-JupyterRepo-button',
        'data-action': 'refresh',
        type: 'button'
      },
      'Refresh'
    );
    refreshButton.addEventListener('click', () => void this.refresh());

    this.searchInput = h('input', {
      type: 'search',
      class: 'jp-JupyterRepo-search',
      placeholder: 'Search the repository',
      'aria-label': 'Search the repository'
    });
    this.searchInput.addEventListener('input', () => this.scheduleSearch());
    this.searchInput.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        void this.runSearch();
      }
    });
    this.searchResults = h('div', {
      class: 'jp-JupyterRepo-searchResults',
      hidden: true
    });
    this.namespaces = h('div', { class: 'jp-JupyterRepo-namespaces' });
    this.notice = h('div', {
      class: 'jp-JupyterRepo-notice',
      role: 'status',
      hidden: true
    });

    this.node.append(
      h(
        'header',
        { class: 'jp-JupyterRepo-header' },
        h('h2', {}, 'Repository'),
        this.connection,
        h(
          'div',
          { class: 'jp-JupyterRepo-actions' },
          settingsButton,
          refreshButton
        )
      ),
      this.searchInput,
      this.notice,
      this.searchResults,
      this.namespaces
    );

    state.statusChanged.connect(this.onStatusChanged, this);
    state.published.connect(this.onPublished, this);
  }

  dispose(): void {
    Signal.clearData(this);
    super.dispose();
  }

  /** Ask the server for the status again and reload the listings. */
  async refresh(): Promise<void> {
    await this.state.refresh();
    if (this.searchInput.value.trim()) {
      await this.runSearch();
    }
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private onStatusChanged(_: RepositoryState, status: IStatus): void {
    this.renderStatus(status);
  }

  private onPublished(): void {
    void this.refresh();
  }

  private renderStatus(status: IStatus): void {
    if (status.connected && status.user) {
      this.connection.textContent = `${status.user.login} at ${status.url}`;
    } else {
      this.connection.textContent =
        status.error ?? 'Not logged in. Use Settings… to log in.';
    }
    // Rebuild the sections only when who/where changed; otherwise reload them in place,
    // so rows never flicker or vanish under the pointer.
    const key = JSON.stringify([
      status.connected,
      status.url,
      status.user?.login,
      status.namespaces.map(n => n.login)
    ]);
    if (key !== this.sectionsKey) {
      this.sectionsKey = key;
      this.buildSections(status);
    }
    void this.loadListings();
  }

  private buildSections(status: IStatus): void {
    this.lists.clear();
    if (!status.connected) {
      this.namespaces.replaceChildren();
      return;
    }
    const sections = status.namespaces.map(namespace => {
      const list = h('div', { class: 'jp-JupyterRepo-list' }, 'Loading…');
      this.lists.set(namespace.login, list);
      return h(
        'details',
        {
          class: 'jp-JupyterRepo-namespace',
          'data-namespace': namespace.login,
          open: true
        },
        h(
          'summary',
          {},
          namespace.login,
          h('small', {}, namespace.kind === 'org' ? ' organization' : ' you')
        ),
        list
      );
    });
    this.namespaces.replaceChildren(h('h3', {}, 'My namespaces'), ...sections);
  }

  private async loadListings(): Promise<void> {
    const generation = ++this.generation;
    await Promise.all(
      Array.from(this.lists.entries()).map(async ([owner, list]) => {
        try {
          const listing = await listPackages(owner);
          if (generation === this.generation) {
            this.renderItems(
              list,
              listing.items,
              'Nothing published here yet.',
              false
            );
          }
        } catch (error) {
          if (generation === this.generation) {
            list.replaceChildren(
              h('span', { class: 'jp-JupyterRepo-error' }, message(error))
            );
          }
        }
      })
    );
  }

  private scheduleSearch(): void {
    window.clearTimeout(this.searchTimer);
    this.searchTimer = window.setTimeout(
      () => void this.runSearch(),
      SEARCH_DELAY_MS
    );
  }

  private async runSearch(): Promise<void> {
    window.clearTimeout(this.searchTimer);
    const q = this.searchInput.value.trim();
    if (!q) {
      this.searchResults.hidden = true;
      this.searchResults.replaceChildren();
      return;
    }
    const generation = ++this.searchGeneration;
    try {
      const listing = await search({ q, per_page: 50 });
      if (generation !== this.searchGeneration) {
        return;
      }
      const list = h('div', { class: 'jp-JupyterRepo-list' });
      this.renderItems(list, listing.items, `Nothing matches “${q}”.`, true);
      this.searchResults.replaceChildren(
        h('h3', {}, `Search results (${listing.total})`),
        list
      );
    } catch (error) {
      this.searchResults.replaceChildren(
        h('span', { class: 'jp-JupyterRepo-error' }, message(error))
      );
    }
    this.searchResults.hidden = false;
  }

  private renderItems(
    list: HTMLElement,
    items: IPackageItem[],
    empty: string,
    showOwner: boolean
  ): void {
    if (!items.length) {
      list.replaceChildren(h('span', { class: 'jp-JupyterRepo-empty' }, empty));
      return;
    }
    list.replaceChildren(
      ...items.map(item => this.renderItem(item, showOwner))
    );
  }

  private renderItem(item: IPackageItem, showOwner: boolean): HTMLElement {
    const actions = h('div', { class: 'jp-JupyterRepo-itemActions' });
    const types = item.package_types ?? [];
    if (types.includes('ipynb')) {
      actions.appendChild(
        this.actionButton('open', 'Open', () => this.open(item))
      );
    }
    if (types.includes('ipynb') || types.includes('env')) {
      actions.appendChild(
        this.actionButton('install-environment', 'Install environment', () =>
          this.installEnvironment(item)
        )
      );
    }
    if (item.html_url) {
      actions.appendChild(
        h(
          'a',
          { href: item.html_url, target: '_blank', rel: 'noopener' },
          'View'
        )
      );
    }
    return h(
      'div',
      {
        class: 'jp-JupyterRepo-item',
        'data-package': `${item.owner}/${item.name}`
      },
      h(
        'div',
        { class: 'jp-JupyterRepo-itemTitle' },
        h('strong', {}, showOwner ? `${item.owner}/${item.name}` : item.name),
        item.latest_version ? h('span', {}, ` ${item.latest_version}`) : '',
        item.public === false
          ? h('span', { class: 'jp-JupyterRepo-badge' }, 'private')
          : '',
        ...types.map(type => h('span', { class: 'jp-JupyterRepo-badge' }, type))
      ),
      item.summary
        ? h('div', { class: 'jp-JupyterRepo-itemSummary' }, item.summary)
        : '',
      actions
    );
  }

  private actionButton(
    action: string,
    label: string,
    run: () => Promise<void>
  ): HTMLElement {
    const button = h(
      'button',
      { class: 'jp-JupyterRepo-button', 'data-action': action, type: 'button' },
      label
    );
    button.addEventListener('click', () => {
      button.disabled = true;
      void run().finally(() => {
        button.disabled = false;
      });
    });
    return button;
  }

  /** Download the notebook into the workspace and open it. */
  private async open(item: IPackageItem): Promise<void> {
    this.showNotice(`Opening ${item.owner}/${item.name}…`);
    try {
      const { path } = await openNotebook({
        owner: item.owner,
        name: item.name
      });
      await this.app.commands.execute('docmanager:open', { path });
      this.showNotice(`Opened ${path}.`);
    } catch (error) {
      this.showNotice(message(error), true);
    }
  }

  private async installEnvironment(item: IPackageItem): Promise<void> {
    this.showNotice(
      `Installing the environment of ${item.owner}/${item.name}…`
    );
    try {
      const ref = await installEnvironment({
        owner: item.owner,
        name: item.name
      });
      const task = await waitForTask(ref.task_id, update =>
        this.showNotice(update.message || `Installing… (${update.state})`)
      );
      if (task.state === 'succeeded') {
        const done =
          task.message ||
          `Installed the environment of ${item.owner}/${item.name}.`;
        this.showNotice(done);
        Notification.success(done);
      } else {
        const why = task.error || task.message || 'The installation failed.';
        this.showNotice(why, true);
        Notification.error(why);
      }
    } catch (error) {
      this.showNotice(message(error), true);
    }
  }

  private showNotice(text: string, isError = false): void {
    this.notice.textContent = text;
    this.notice.classList.toggle('jp-JupyterRepo-error', isError);
    this.notice.hidden = false;
  }

  private readonly connection: HTMLElement;
  private readonly searchInput: HTMLInputElement;
  private readonly searchResults: HTMLElement;
  private readonly namespaces: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly lists = new Map<string, HTMLElement>();
  private sectionsKey = '';
  private searchTimer = 0;
  private generation = 0;
  private searchGeneration = 0;
}

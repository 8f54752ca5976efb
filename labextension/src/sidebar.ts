/**
 * The left-sidebar "Repository" panel: who I am on which repository, my namespaces and
 * their packages, a search, and for each notebook "Open" (download it into the workspace)
 * and "Install environment" (the environment attached to it). Actions are Lab toolbar
 * buttons with icons, as in Lab's own side panels.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  downloadIcon,
  LabIcon,
  launchIcon,
  notebookIcon,
  refreshIcon,
  SidePanel,
  Toolbar,
  ToolbarButton,
  userIcon
} from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import { Panel, PanelLayout, Widget } from '@lumino/widgets';

import type { IPackageItem, IStatus } from './api';
import { h } from './dom';
import { messageOf } from './errors';
import {
  attachedEnvironment,
  environmentPlan,
  IEnvironmentPlan,
  pageLink
} from './published';
import { RepositoryState } from './state';

const SEARCH_DELAY_MS = 300;

/** A widget over a plain DOM node. */
function nodeWidget(node: HTMLElement): Widget {
  return new Widget({ node });
}

/** One package: its name, version, badges, summary and a toolbar of actions. */
class PackageRow extends Panel {
  constructor(
    item: IPackageItem,
    showOwner: boolean,
    actions: Toolbar,
    trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-JupyterRepo-item');
    this.node.dataset.package = `${item.owner}/${item.name}`;
    const types = item.package_types ?? [];
    this.addWidget(
      nodeWidget(
        h(
          'div',
          { class: 'jp-JupyterRepo-itemTitle' },
          h('strong', {}, showOwner ? `${item.owner}/${item.name}` : item.name),
          item.latest_version ? h('span', {}, ` ${item.latest_version}`) : '',
          item.public === false
            ? h('span', { class: 'jp-JupyterRepo-badge' }, trans.__('private'))
            : '',
          ...types.map(type =>
            h('span', { class: 'jp-JupyterRepo-badge' }, type)
          )
        )
      )
    );
    if (item.summary) {
      this.addWidget(
        nodeWidget(
          h('div', { class: 'jp-JupyterRepo-itemSummary' }, item.summary)
        )
      );
    }
    actions.addClass('jp-JupyterRepo-itemActions');
    this.addWidget(actions);
  }
}

/** A list of packages (a namespace's, or search results), or why there are none. */
class PackageList extends Panel {
  constructor(
    private readonly makeActions: (item: IPackageItem) => Toolbar,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-JupyterRepo-list');
  }

  setItems(items: IPackageItem[], empty: string, showOwner: boolean): void {
    this.clear();
    if (!items.length) {
      this.setText(empty, 'jp-JupyterRepo-empty');
      return;
    }
    for (const item of items) {
      this.addWidget(
        new PackageRow(item, showOwner, this.makeActions(item), this.trans)
      );
    }
  }

  setText(text: string, className: string): void {
    this.clear();
    this.addWidget(nodeWidget(h('span', { class: className }, text)));
  }

  private clear(): void {
    for (const widget of [...this.widgets]) {
      widget.dispose();
    }
  }
}

export class RepositoryPanel extends SidePanel {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly state: RepositoryState,
    openSettings: () => void
  ) {
    super({ content: new Panel() });
    const trans = (this.trans = state.trans);
    this.id = 'jupyter-repo-sidebar';
    this.addClass('jp-JupyterRepo-panel');
    this.title.caption = trans.__('Repository');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Repository'));
    this.content.addClass('jp-JupyterRepo-content');

    this.header.addWidget(
      nodeWidget(
        h('h2', { class: 'jp-JupyterRepo-title' }, trans.__('Repository'))
      )
    );
    this.toolbar.addItem(
      'settings',
      new ToolbarButton({
        icon: userIcon,
        tooltip: trans.__('Repository settings and login…'),
        onClick: openSettings
      })
    );
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: trans.__('Refresh the repository panel'),
        onClick: () => void this.refresh()
      })
    );

    this.connection = h('div', { class: 'jp-JupyterRepo-connection' });
    this.searchInput = h('input', {
      type: 'search',
      class: 'jp-JupyterRepo-search jp-mod-styled',
      placeholder: trans.__('Search the repository'),
      'aria-label': trans.__('Search the repository')
    });
    this.searchInput.addEventListener('input', () => this.scheduleSearch());
    this.searchInput.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        void this.runSearch();
      }
    });
    this.notice = h('div', {
      class: 'jp-JupyterRepo-notice',
      role: 'status',
      hidden: true
    });
    this.searchHeading = h('h3', {});
    this.searchResults = new Panel();
    this.searchResults.addClass('jp-JupyterRepo-searchResults');
    this.searchResults.addWidget(nodeWidget(this.searchHeading));
    this.searchList = new PackageList(item => this.actionsFor(item), trans);
    this.searchResults.addWidget(this.searchList);
    this.searchResults.hide();
    this.namespaces = new Panel();
    this.namespaces.addClass('jp-JupyterRepo-namespaces');

    for (const node of [this.connection, this.searchInput, this.notice]) {
      this.addWidget(nodeWidget(node));
    }
    this.addWidget(this.searchResults);
    this.addWidget(this.namespaces);

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
    const trans = this.trans;
    if (status.connected && status.user) {
      this.connection.textContent = trans.__(
        '%1 at %2',
        status.user.login,
        status.url
      );
    } else {
      this.connection.textContent =
        status.error ??
        trans.__('Not logged in. Use the settings button to log in.');
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
    const trans = this.trans;
    this.lists.clear();
    for (const widget of [...this.namespaces.widgets]) {
      widget.dispose();
    }
    if (!status.connected) {
      return;
    }
    this.namespaces.addWidget(
      nodeWidget(h('h3', {}, trans.__('My namespaces')))
    );
    for (const namespace of status.namespaces) {
      const list = new PackageList(item => this.actionsFor(item), trans);
      list.setText(trans.__('Loading…'), 'jp-JupyterRepo-empty');
      this.lists.set(namespace.login, list);
      const summary = h(
        'summary',
        {},
        namespace.login,
        h(
          'small',
          {},
          ' ',
          namespace.kind === 'org' ? trans.__('organization') : trans.__('you')
        )
      );
      const section = new Widget({
        node: h('details', {
          class: 'jp-JupyterRepo-namespace',
          'data-namespace': namespace.login,
          open: true
        })
      });
      const layout = (section.layout = new PanelLayout());
      layout.addWidget(nodeWidget(summary));
      layout.addWidget(list);
      this.namespaces.addWidget(section);
    }
  }

  private async loadListings(): Promise<void> {
    const generation = ++this.generation;
    await Promise.all(
      Array.from(this.lists.entries()).map(async ([owner, list]) => {
        try {
          const listing = await this.state.client.listPackages(owner);
          if (generation === this.generation) {
            list.setItems(
              listing.items,
              this.trans.__('Nothing published here yet.'),
              false
            );
          }
        } catch (error) {
          if (generation === this.generation) {
            list.setText(messageOf(error), 'jp-JupyterRepo-error');
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
    const trans = this.trans;
    window.clearTimeout(this.searchTimer);
    const q = this.searchInput.value.trim();
    if (!q) {
      this.searchResults.hide();
      this.searchList.setText('', 'jp-JupyterRepo-empty');
      return;
    }
    const generation = ++this.searchGeneration;
    try {
      const listing = await this.state.client.search({ q, per_page: 50 });
      if (generation !== this.searchGeneration) {
        return;
      }
      this.searchHeading.textContent = trans.__(
        'Search results (%1)',
        listing.total
      );
      this.searchList.setItems(
        listing.items,
        trans.__('Nothing matches “%1”.', q),
        true
      );
    } catch (error) {
      this.searchHeading.textContent = trans.__('Search results');
      this.searchList.setText(messageOf(error), 'jp-JupyterRepo-error');
    }
    this.searchResults.show();
  }

  /** The actions a package offers, as a toolbar of icon buttons. */
  private actionsFor(item: IPackageItem): Toolbar {
    const trans = this.trans;
    const toolbar = new Toolbar();
    const types = item.package_types ?? [];
    const name = `${item.owner}/${item.name}`;
    if (types.includes('ipynb')) {
      toolbar.addItem(
        'open',
        this.actionButton(
          notebookIcon,
          trans.__('Open'),
          trans.__('Download %1 into the workspace and open it', name),
          () => this.open(item)
        )
      );
    }
    if (types.includes('ipynb') || types.includes('env')) {
      toolbar.addItem(
        'install-environment',
        this.actionButton(
          downloadIcon,
          trans.__('Install environment'),
          trans.__('Install the environment of %1 as a kernel', name),
          () => this.installEnvironment(item)
        )
      );
    }
    if (item.html_url) {
      toolbar.addItem(
        'view',
        this.actionButton(
          launchIcon,
          trans.__('View'),
          trans.__('Open the page of %1 in a new browser tab', name),
          async () => {
            window.open(
              pageLink(
                item.html_url,
                item.public !== false,
                this.state.status.url
              ),
              '_blank',
              'noopener'
            );
          }
        )
      );
    }
    return toolbar;
  }

  /** A toolbar button that stays disabled while its action runs. */
  private actionButton(
    icon: LabIcon,
    label: string,
    tooltip: string,
    run: () => Promise<void>
  ): ToolbarButton {
    let running = false;
    const button: ToolbarButton = new ToolbarButton({
      icon,
      label,
      tooltip,
      onClick: () => {
        if (running) {
          return;
        }
        running = true;
        button.enabled = false;
        void run().finally(() => {
          running = false;
          if (!button.isDisposed) {
            button.enabled = true;
          }
        });
      }
    });
    return button;
  }

  /** Download the notebook into the workspace and open it. */
  private async open(item: IPackageItem): Promise<void> {
    const trans = this.trans;
    this.showNotice(trans.__('Opening %1/%2…', item.owner, item.name));
    try {
      const { path } = await this.state.client.openNotebook({
        owner: item.owner,
        name: item.name
      });
      await this.app.commands.execute('docmanager:open', { path });
      this.showNotice(trans.__('Opened %1.', path));
    } catch (error) {
      this.showNotice(messageOf(error), true);
    }
  }

  /**
   * What installing would do, read from the repository: which environment (a notebook's
   * attached one), its version and requirements. Null when it cannot be read; the
   * confirmation then says so.
   */
  private async installPlan(
    item: IPackageItem
  ): Promise<{ source: string; plan: IEnvironmentPlan } | null> {
    const client = this.state.client;
    try {
      let info = await client.packageInfo(item.owner, item.name);
      let source = `${item.owner}/${item.name}`;
      let version: string | null = null;
      if (info && !(item.package_types ?? []).includes('env')) {
        const attached = attachedEnvironment(info);
        if (!attached) {
          return null;
        }
        source = `${attached.owner}/${attached.name}`;
        version = attached.version;
        info = await client.packageInfo(attached.owner, attached.name);
      }
      return info ? { source, plan: environmentPlan(info, version) } : null;
    } catch {
      return null;
    }
  }

  /** Installing changes the kernel's environment: the user confirms what will happen. */
  private async confirmInstall(item: IPackageItem): Promise<boolean> {
    const trans = this.trans;
    const specs = this.app.serviceManager.kernelspecs.specs;
    const kernel = specs?.default
      ? (specs.kernelspecs[specs.default]?.display_name ?? specs.default)
      : trans.__('the default kernel');
    const found = await this.installPlan(item);
    const lines: (HTMLElement | string)[] = [];
    if (found) {
      const { plan, source } = found;
      const count = plan.conda.length + plan.pip.length;
      lines.push(
        h(
          'p',
          {},
          trans._n(
            'This installs %1 package from %2 version %3 into the environment of the kernel “%4”:',
            'This installs %1 packages from %2 version %3 into the environment of the kernel “%4”:',
            count,
            source,
            plan.version ?? '—',
            kernel
          )
        ),
        h(
          'ul',
          { class: 'jp-JupyterRepo-planList' },
          ...[
            ...plan.conda.map(spec => trans.__('conda: %1', spec)),
            ...plan.pip.map(spec => trans.__('pip: %1', spec))
          ]
            .slice(0, 12)
            .map(text => h('li', {}, text)),
          count > 12 ? h('li', {}, trans.__('… and %1 more', count - 12)) : ''
        )
      );
    } else {
      lines.push(
        h(
          'p',
          {},
          trans.__(
            'This installs the environment of %1/%2 into the environment of the kernel “%3”. Its list of packages could not be read beforehand.',
            item.owner,
            item.name,
            kernel
          )
        )
      );
    }
    lines.push(
      h(
        'p',
        {},
        trans.__(
          'Packages already installed there may be upgraded or downgraded; a running kernel needs a restart to use them.'
        )
      )
    );
    const answer = await showDialog({
      title: trans.__('Install into the kernel’s environment?'),
      body: new Widget({
        node: h('div', { class: 'jp-JupyterRepo-confirm' }, ...lines)
      }),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Install') })
      ]
    });
    return answer.button.accept;
  }

  private async installEnvironment(item: IPackageItem): Promise<void> {
    const trans = this.trans;
    if (!(await this.confirmInstall(item))) {
      return;
    }
    this.showNotice(
      trans.__('Installing the environment of %1/%2…', item.owner, item.name)
    );
    try {
      const client = this.state.client;
      const ref = await client.installEnvironment({
        owner: item.owner,
        name: item.name
      });
      const task = await client.waitForTask(ref.task_id, update =>
        this.showNotice(
          update.message || trans.__('Installing… (%1)', update.state)
        )
      );
      if (task.state === 'succeeded') {
        const done =
          task.message ||
          trans.__(
            'Installed the environment of %1/%2.',
            item.owner,
            item.name
          );
        this.showNotice(done);
        Notification.success(done);
      } else {
        const why =
          task.error || task.message || trans.__('The installation failed.');
        this.showNotice(why, true);
        Notification.error(why);
      }
    } catch (error) {
      this.showNotice(messageOf(error), true);
    }
  }

  private showNotice(text: string, isError = false): void {
    this.notice.textContent = text;
    this.notice.classList.toggle('jp-JupyterRepo-error', isError);
    this.notice.hidden = false;
  }

  private readonly trans: TranslationBundle;
  private readonly connection: HTMLElement;
  private readonly searchInput: HTMLInputElement;
  private readonly notice: HTMLElement;
  private readonly searchHeading: HTMLElement;
  private readonly searchResults: Panel;
  private readonly searchList: PackageList;
  private readonly namespaces: Panel;
  private readonly lists = new Map<string, PackageList>();
  private sectionsKey = '';
  private searchTimer = 0;
  private generation = 0;
  private searchGeneration = 0;
}

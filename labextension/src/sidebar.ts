/**
 * The left-sidebar "Repository" panel: who I am on which repository, my namespaces and
 * their packages, a search, and for each package the actions its type allows (rows.ts):
 * Open, Open with its environment, Install into this kernel, Create as a new kernel,
 * Copy install command, View on the web. They are Lab toolbar buttons with icons on the
 * row, and entries of Lab's context menu on it, as in Lab's own side panels.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { DocumentWidget } from '@jupyterlab/docregistry';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  addIcon,
  copyIcon,
  downloadIcon,
  kernelIcon,
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

import type { IPackageItem, IStatus, ITaskRef } from './api';
import { h } from './dom';
import { messageOf } from './errors';
import { createEnvironment, IEnvironmentRef } from './openenv';
import {
  attachedEnvironment,
  environmentPlan,
  IEnvironmentPlan,
  pageLink
} from './published';
import {
  installCommand,
  installsEnvironment,
  RowAction,
  rowActions
} from './rows';
import { RepositoryState } from './state';

const SEARCH_DELAY_MS = 300;

/** The command the rows' "Open with its environment" runs (defined in index.ts). */
export const OPEN_WITH_ENVIRONMENT = 'jupyter-repo:open-with-environment';

/** The class of a package row (the context menu's selector). */
const ROW_CLASS = 'jp-JupyterRepo-item';

/** The rows' context-menu commands: this prefix and the action. */
const ROW_COMMAND_PREFIX = 'jupyter-repo:row-';

/** Where the rows' entries go among the context menu's (Lab's own entries come after). */
const CONTEXT_MENU_RANK = 1;

/** Every row action, in the order the menu and the toolbar show them. */
const ROW_ACTIONS: RowAction[] = [
  'open',
  'open-with-environment',
  'install',
  'create-kernel',
  'copy-install',
  'view'
];

/** The key under which a notebook's attached environment is remembered. */
function attachedKey(item: IPackageItem): string {
  return `${item.owner}/${item.name}/${item.latest_version}`;
}

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
    this.addClass(ROW_CLASS);
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
    // The same listing again (a refresh): the rows stay, so nothing flickers or moves
    // under the pointer or an open menu.
    const shown = JSON.stringify([items, empty, showOwner]);
    if (shown === this.shown) {
      return;
    }
    this.clear();
    this.shown = shown;
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
    this.shown = '';
    for (const widget of [...this.widgets]) {
      widget.dispose();
    }
  }

  private shown = '';
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

    this.addContextMenu();
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

  /** Label, tooltip and icon of a row action (shared by the toolbar and the menu). */
  private actionText(
    action: RowAction,
    name: string
  ): { label: string; caption: string; icon: LabIcon } {
    const trans = this.trans;
    switch (action) {
      case 'open':
        return {
          label: trans.__('Open'),
          caption: trans.__(
            'Download %1 into the workspace and open it (a project unpacks into a new folder)',
            name
          ),
          icon: notebookIcon
        };
      case 'open-with-environment':
        return {
          label: trans.__('Open with its environment'),
          caption: trans.__(
            'Build the environment attached to %1 as a new kernel, then open the notebook with it',
            name
          ),
          icon: kernelIcon
        };
      case 'install':
        return {
          label: trans.__('Install into this kernel'),
          caption: trans.__(
            'Install %1 into the environment of the current kernel (asks first)',
            name
          ),
          icon: downloadIcon
        };
      case 'create-kernel':
        return {
          label: trans.__('Create as a new kernel'),
          caption: trans.__(
            'Build a new environment from %1 and register it as a kernel',
            name
          ),
          icon: addIcon
        };
      case 'copy-install':
        return {
          label: trans.__('Copy install command'),
          caption: trans.__(
            'Copy the command that installs %1 (as its web page shows it)',
            name
          ),
          icon: copyIcon
        };
      case 'view':
        return {
          label: trans.__('View on the web'),
          caption: trans.__('Open the page of %1 in a new browser tab', name),
          icon: launchIcon
        };
    }
  }

  /** The actions a row offers now (a notebook's environment ones once it is known to carry one). */
  private actionsOf(item: IPackageItem): RowAction[] {
    return rowActions(item, {
      attached: this.attachedKnown.get(attachedKey(item)) ?? false
    });
  }

  /** Run one action on a row's package. */
  private async runAction(
    action: RowAction,
    item: IPackageItem
  ): Promise<void> {
    switch (action) {
      case 'open':
        return this.open(item);
      case 'open-with-environment':
        await this.app.commands.execute(OPEN_WITH_ENVIRONMENT, {
          owner: item.owner,
          name: item.name
        });
        return;
      case 'install':
        return installsEnvironment(item)
          ? this.installEnvironment(item)
          : this.installPackage(item);
      case 'create-kernel':
        return this.createKernel(item);
      case 'copy-install':
        return this.copyInstall(item);
      case 'view':
        window.open(
          pageLink(item.html_url, item.public !== false, this.state.status.url),
          '_blank',
          'noopener'
        );
        return;
    }
  }

  /**
   * The rows' context menu: one command per action, shown on a row when it applies to
   * that row's package (Lab's context menu, so it looks and behaves like Lab's own).
   */
  private addContextMenu(): void {
    const { commands, contextMenu } = this.app;
    // The row is taken when the menu opens: a reload of the listing may replace the row's
    // node before an entry is chosen (Lab's hit test walks the node's current parents).
    this.node.addEventListener('contextmenu', event => {
      const row =
        event.target instanceof Element
          ? event.target.closest<HTMLElement>(`.${ROW_CLASS}`)
          : null;
      const key = row?.dataset.package;
      this.menuItem = key ? (this.rows.get(key) ?? null) : null;
    });
    ROW_ACTIONS.forEach((action, rank) => {
      const id = `${ROW_COMMAND_PREFIX}${action}`;
      commands.addCommand(id, {
        label: () => this.actionText(action, '').label,
        icon: () => this.actionText(action, '').icon,
        caption: () => {
          const item = this.menuItem;
          return this.actionText(
            action,
            item ? `${item.owner}/${item.name}` : ''
          ).caption;
        },
        describedBy: { args: { type: 'object', properties: {} } },
        isVisible: () => {
          const item = this.menuItem;
          return item !== null && this.actionsOf(item).includes(action);
        },
        execute: async () => {
          const item = this.menuItem;
          if (item) {
            await this.runAction(action, item);
          }
        }
      });
      contextMenu.addItem({
        command: id,
        selector: `.${ROW_CLASS}`,
        rank: CONTEXT_MENU_RANK + rank
      });
    });
  }

  /** The actions a package offers, as a toolbar of icon buttons (all but the copy, which
   * is in the row's context menu). */
  private actionsFor(item: IPackageItem): Toolbar {
    const toolbar = new Toolbar();
    const name = `${item.owner}/${item.name}`;
    this.rows.set(name, item);
    const now = rowActions(item, { attached: false });
    const once = rowActions(item, { attached: true });
    const later: ToolbarButton[] = [];
    for (const action of once) {
      if (action === 'copy-install') {
        continue;
      }
      const { label, caption, icon } = this.actionText(action, name);
      const button = this.actionButton(icon, label, caption, () =>
        this.runAction(action, item)
      );
      button.addClass(`jp-JupyterRepo-action-${action}`);
      if (!now.includes(action)) {
        button.hide(); // shown once the notebook is known to have an environment attached
        later.push(button);
      }
      toolbar.addItem(action, button);
    }
    if ((item.package_types ?? []).includes('ipynb')) {
      void this.environmentOf(item).then(attached => {
        if (attached) {
          later.filter(button => !button.isDisposed).forEach(b => b.show());
        }
      });
    }
    return toolbar;
  }

  /** The environment the latest version of a published notebook carries, if any (asked
   * once per package and version). */
  private environmentOf(item: IPackageItem): Promise<IEnvironmentRef | null> {
    const key = attachedKey(item);
    let known = this.attached.get(key);
    if (!known) {
      known = this.state.client
        .packageInfo(item.owner, item.name)
        .then(info => (info ? attachedEnvironment(info) : null))
        .catch(() => null);
      void known.then(found => this.attachedKnown.set(key, found !== null));
      this.attached.set(key, known);
    }
    return known;
  }

  private async hasEnvironment(item: IPackageItem): Promise<boolean> {
    return (await this.environmentOf(item)) !== null;
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

  /** "Copy install command": the command the package's page shows, to the clipboard. */
  private async copyInstall(item: IPackageItem): Promise<void> {
    const trans = this.trans;
    const types = item.package_types ?? [];
    const environment = types.includes('ipynb')
      ? await this.environmentOf(item)
      : null;
    const repositoryUrl = this.state.status.url;
    if (!repositoryUrl) {
      return; // not connected: there are no rows to copy from
    }
    const command = installCommand(item, repositoryUrl, environment);
    try {
      await navigator.clipboard.writeText(command);
    } catch {
      Clipboard.copyToSystem(command); // no async clipboard (a plain-http origin)
    }
    Notification.success(
      trans.__(
        'Copied the install command of %1/%2: %3',
        item.owner,
        item.name,
        command
      ),
      { autoClose: 5000 }
    );
  }

  /** "Create as a new kernel": build a new environment from the package (a notebook:
   * from its attached environment) and register it as a kernel. */
  private async createKernel(item: IPackageItem): Promise<void> {
    const trans = this.trans;
    const created = await createEnvironment(
      this.state.client,
      { owner: item.owner, name: item.name, version: null },
      trans
    );
    if (!created) {
      return;
    }
    await this.app.serviceManager.kernelspecs.refreshSpecs();
    const done = created.reused
      ? trans.__(
          'The kernel “%1” already holds the environment of %2/%3.',
          created.display_name,
          item.owner,
          item.name
        )
      : trans.__(
          'Created the kernel “%1” from %2/%3.',
          created.display_name,
          item.owner,
          item.name
        );
    this.showNotice(done);
    Notification.success(done, { autoClose: 5000 });
  }

  /** The kernel "this kernel" means: the one of the document in focus, else the default. */
  private thisKernel(): { name: string | undefined; display: string } {
    const widget = this.app.shell.currentWidget;
    const running =
      widget instanceof DocumentWidget
        ? widget.context.sessionContext.session?.kernel?.name
        : undefined;
    const specs = this.app.serviceManager.kernelspecs.specs;
    const name = running ?? specs?.default;
    return {
      name,
      display: name
        ? (specs?.kernelspecs[name]?.display_name ?? name)
        : this.trans.__('the default kernel')
    };
  }
  /** Download the notebook into the workspace and open it; unpack a project and show its folder. */
  private async open(item: IPackageItem): Promise<void> {
    const trans = this.trans;
    this.showNotice(trans.__('Opening %1/%2…', item.owner, item.name));
    try {
      const { path, type } = await this.state.client.openNotebook({
        owner: item.owner,
        name: item.name
      });
      if (type === 'directory') {
        await this.app.commands.execute('filebrowser:go-to-path', {
          path: `/${path}`,
          showBrowser: true
        });
        // The file browser now covers this panel: the result is a notification.
        const message = trans.__('Unpacked the project into %1/.', path);
        this.showNotice(message);
        Notification.success(message, { autoClose: 10000 });
        return;
      }
      await this.app.commands.execute('docmanager:open', { path });
      this.showNotice(trans.__('Opened %1.', path));
      if (await this.hasEnvironment(item)) {
        Notification.info(
          trans.__('%1 was published with an environment.', path),
          {
            autoClose: 10000,
            actions: [
              {
                label: trans.__('Open with its environment'),
                callback: () => {
                  void this.app.commands.execute(OPEN_WITH_ENVIRONMENT, {
                    path
                  });
                }
              }
            ]
          }
        );
      }
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

  /** What installing a notebook's or an environment's environment installs, for the
   * confirmation. */
  private async environmentLines(
    item: IPackageItem,
    kernel: string
  ): Promise<HTMLElement[]> {
    const trans = this.trans;
    const found = await this.installPlan(item);
    if (!found) {
      return [
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
      ];
    }
    const { plan, source } = found;
    const count = plan.conda.length + plan.pip.length;
    return [
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
    ];
  }

  /** Installing changes the kernel's environment: the user confirms what will happen. */
  private async confirmInstall(lines: HTMLElement[]): Promise<boolean> {
    const trans = this.trans;
    const answer = await showDialog({
      title: trans.__('Install into the kernel’s environment?'),
      body: new Widget({
        node: h(
          'div',
          { class: 'jp-JupyterRepo-confirm' },
          ...lines,
          h(
            'p',
            {},
            trans.__(
              'Packages already installed there may be upgraded or downgraded; a running kernel needs a restart to use them.'
            )
          )
        )
      }),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Install') })
      ]
    });
    return answer.button.accept;
  }

  /** "Install into this kernel" for an environment, or a notebook's attached one. */
  private async installEnvironment(item: IPackageItem): Promise<void> {
    const trans = this.trans;
    const kernel = this.thisKernel();
    if (
      !(await this.confirmInstall(
        await this.environmentLines(item, kernel.display)
      ))
    ) {
      return;
    }
    await this.runInstall(
      trans.__('Installing the environment of %1/%2…', item.owner, item.name),
      trans.__('Installed the environment of %1/%2.', item.owner, item.name),
      () =>
        this.state.client.installEnvironment({
          owner: item.owner,
          name: item.name,
          kernel_name: kernel.name
        })
    );
  }

  /** "Install into this kernel" for a conda or pip package. */
  private async installPackage(item: IPackageItem): Promise<void> {
    const trans = this.trans;
    const kernel = this.thisKernel();
    const lines = [
      h(
        'p',
        {},
        trans.__(
          'This installs %1/%2 version %3 into the environment of the kernel “%4”.',
          item.owner,
          item.name,
          item.latest_version ?? '—',
          kernel.display
        )
      )
    ];
    if (!(await this.confirmInstall(lines))) {
      return;
    }
    await this.runInstall(
      trans.__('Installing %1/%2…', item.owner, item.name),
      trans.__('Installed %1/%2.', item.owner, item.name),
      () =>
        this.state.client.install({
          spec: `${item.owner}/${item.name}`,
          kernel_name: kernel.name
        })
    );
  }

  /** Start an install task and follow it in the panel's notice until it ends. */
  private async runInstall(
    starting: string,
    installed: string,
    start: () => Promise<ITaskRef>
  ): Promise<void> {
    const trans = this.trans;
    this.showNotice(starting);
    try {
      const client = this.state.client;
      const ref = await start();
      const task = await client.waitForTask(ref.task_id, update =>
        this.showNotice(
          update.message || trans.__('Installing… (%1)', update.state)
        )
      );
      if (task.state === 'succeeded') {
        const done = task.message || installed;
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
  /** The rows shown, by `owner/name` (what the context menu acts on). */
  private readonly rows = new Map<string, IPackageItem>();
  private readonly attached = new Map<
    string,
    Promise<IEnvironmentRef | null>
  >();
  private readonly attachedKnown = new Map<string, boolean>();
  /** The row the context menu was opened on. */
  private menuItem: IPackageItem | null = null;
  private sectionsKey = '';
  private searchTimer = 0;
  private generation = 0;
  private searchGeneration = 0;
}

/**
 * What a row of the Repository panel offers, decided from the package alone (no DOM, no
 * server): which actions apply to its package types, and the install command its web
 * page shows, for "Copy install command". The toolbar of a row and its context menu both
 * read `rowActions`, so they never disagree.
 */
import type { IPackageItem } from './api';

/** The actions a row can offer, in the order they are shown. */
export type RowAction =
  | 'open'
  | 'open-with-environment'
  | 'install'
  | 'create-kernel'
  | 'copy-install'
  | 'view';

/** What is known of a row beyond its listing. */
export interface IRowFacts {
  /** A notebook's latest version names an environment (read from the repository). */
  attached: boolean;
}

const TOKEN_PLACEHOLDER = '<TOKEN>';

/** Package types the web page gives `jupyter repo install` / `open` lines for. */
const INSTALLABLE = ['conda', 'pypi', 'env'];
const OPENABLE = ['ipynb', 'project', 'file'];

function typesOf(item: IPackageItem): string[] {
  return item.package_types ?? [];
}

/**
 * Whether "Install into this kernel" installs an environment (an environment package, or
 * the environment a notebook carries) rather than the package itself (conda or pip).
 */
export function installsEnvironment(item: IPackageItem): boolean {
  const types = typesOf(item);
  return types.includes('env') || types.includes('ipynb');
}

/** The actions that apply to a row's package. */
export function rowActions(item: IPackageItem, facts: IRowFacts): RowAction[] {
  const types = typesOf(item);
  const notebook = types.includes('ipynb');
  const environment = types.includes('env') || (notebook && facts.attached);
  const actions: RowAction[] = [];
  if (notebook || types.includes('project')) {
    actions.push('open');
  }
  if (notebook && facts.attached) {
    actions.push('open-with-environment');
  }
  if (environment || types.includes('conda') || types.includes('pypi')) {
    actions.push('install');
  }
  if (environment) {
    actions.push('create-kernel');
  }
  if (
    types.some(type => INSTALLABLE.includes(type) || OPENABLE.includes(type))
  ) {
    actions.push('copy-install');
  }
  if (item.html_url) {
    actions.push('view');
  }
  return actions;
}

// The snippets below are those of the package's web page
// (jupyter_repo/server/web/install.py); the browser test compares the two.

function root(base: string, isPublic: boolean): string {
  return isPublic ? base : `${base}/t/${TOKEN_PLACEHOLDER}`;
}

/** `conda install -c CHANNEL NAME`, on the owner's main channel. */
export function condaCommand(base: string, item: IPackageItem): string {
  const channel = `${root(base, item.public !== false)}/conda/${item.owner}`;
  return `conda install -c ${channel} ${item.name}`;
}

/** `pip install --index-url INDEX NAME`, on the owner's main index. */
export function pipCommand(base: string, item: IPackageItem): string {
  const index = `${root(base, item.public !== false)}/pypi/${item.owner}/simple`;
  return `pip install --index-url ${index} ${item.name}`;
}

/** The `jupyter repo` lines: login (private), install, open, env create. */
export function jupyterRepoCommands(
  base: string,
  item: IPackageItem,
  environment: { owner: string; name: string } | null
): string[] {
  const types = typesOf(item);
  const url = ` --url ${base}`;
  const lines = item.public === false ? [`jupyter repo login${url}`] : [];
  const installable = types.some(type => INSTALLABLE.includes(type));
  const openable = types.some(type => OPENABLE.includes(type));
  if (!installable && !openable && !environment) {
    return [];
  }
  if (installable) {
    lines.push(`jupyter repo install ${item.owner}/${item.name}${url}`);
  }
  if (openable) {
    lines.push(`jupyter repo open ${item.owner}/${item.name}${url}`);
  }
  if (environment) {
    lines.push(
      `jupyter repo env create ${environment.owner}/${environment.name}${url}`
    );
  }
  return lines;
}

/**
 * The install command "Copy install command" copies: one the package's web page shows,
 * the one that works as pasted. A public conda package on its main label: `conda install
 * -c`; a public pip package there: `pip install --index-url`; anything else (notebooks,
 * environments, projects, files, private packages, which would need a token in a channel
 * URL, packages only on other labels) the `jupyter repo` lines, which log in first when
 * the package is private. Empty when the package has no type the page knows.
 */
export function installCommand(
  item: IPackageItem,
  repositoryUrl: string,
  environment: { owner: string; name: string } | null
): string {
  const url = repositoryUrl.replace(/\/+$/, '');
  const types = typesOf(item);
  const labels = item.labels ?? [];
  const onMain = !labels.length || labels.includes('main');
  if (item.public !== false && onMain) {
    if (types.includes('conda')) {
      return condaCommand(url, item);
    }
    if (types.includes('pypi')) {
      return pipCommand(url, item);
    }
  }
  return jupyterRepoCommands(url, item, environment).join('\n');
}

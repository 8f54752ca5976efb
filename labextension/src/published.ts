/**
 * What a package on the repository is, in the words the dialogs use: its current
 * visibility and label (where a republish starts from), the sentence after a publish,
 * what installing an environment would install, and links to its web page that work
 * for a private package (through the repository's login, which returns to the page).
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { IPublishResult } from './api';
import type { Visibility } from './settings';

/** One file of a package, as the repository's API describes it (the parts used here). */
export interface IPackageFile {
  basename: string;
  version: string;
  type?: string;
  labels?: string[];
  attrs?: { [key: string]: unknown };
  dependencies?: { [kind: string]: unknown };
}

/** A package, as the repository's API describes it (`GET /package/OWNER/NAME`). */
export interface IPackageInfo {
  name: string;
  public: boolean;
  latest_version: string | null;
  versions?: string[];
  html_url?: string;
  files?: IPackageFile[];
}

/** Where a republish starts: the package's visibility and the label of its latest version. */
export interface IPackageSettings {
  visibility: Visibility;
  /** The label the latest version got, if the repository shows one. */
  label: string | null;
  latestVersion: string | null;
}

export function packageSettings(info: IPackageInfo): IPackageSettings {
  const latest = info.latest_version;
  const labels = new Set<string>();
  for (const file of info.files ?? []) {
    if (file.version === latest) {
      for (const label of file.labels ?? []) {
        labels.add(label);
      }
    }
  }
  // A version copied to several labels: the one that is not the default says more.
  const sorted = [...labels].sort();
  const label = sorted.find(name => name !== 'main') ?? sorted[0] ?? null;
  return {
    visibility: info.public === false ? 'private' : 'public',
    label,
    latestVersion: latest
  };
}

/** The sentence shown (and notified) after a publish: where, which version, who sees it. */
export function describePublished(
  result: IPublishResult,
  trans: TranslationBundle
): string {
  const labels = result.labels?.length
    ? result.labels
    : result.label
      ? [result.label]
      : [];
  const visibility =
    result.public === false
      ? trans.__('private (only you and those you share it with)')
      : trans.__('public (anyone can find and open it)');
  return labels.length
    ? trans._n(
        'Published %2/%3, version %4: %5, label “%6”.',
        'Published %2/%3, version %4: %5, labels “%6”.',
        labels.length,
        result.owner,
        result.name,
        result.version,
        visibility,
        labels.join('”, “')
      )
    : trans.__(
        'Published %1/%2, version %3: %4.',
        result.owner,
        result.name,
        result.version,
        visibility
      );
}

/**
 * A link to a package's web page that a browser not signed in to the repository can
 * follow: a private page goes through the repository's login, which returns to it
 * (`next=`, a path on the repository only). Public pages are linked directly.
 */
export function pageLink(
  htmlUrl: string,
  isPublic: boolean,
  repositoryUrl: string | null
): string {
  if (isPublic || !repositoryUrl) {
    return htmlUrl;
  }
  const base = repositoryUrl.replace(/\/+$/, '');
  if (!htmlUrl.startsWith(base + '/')) {
    return htmlUrl;
  }
  const path = htmlUrl.slice(base.length);
  return `${base}/login?next=${encodeURIComponent(path)}`;
}

/** What installing an environment package's version would install. */
export interface IEnvironmentPlan {
  version: string | null;
  conda: string[];
  pip: string[];
}

function texts(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : [];
}

/**
 * The requirements of an environment's version (the latest unless given), from the
 * dependencies the repository read out of its files (environment.yml, requirements.txt,
 * lock files); a requirement listed by several files counts once.
 */
export function environmentPlan(
  info: IPackageInfo,
  version?: string | null
): IEnvironmentPlan {
  const wanted = version || info.latest_version;
  const conda = new Set<string>();
  const pip = new Set<string>();
  for (const file of info.files ?? []) {
    if (
      file.version !== wanted ||
      !file.dependencies ||
      (file.type && file.type !== 'env')
    ) {
      continue;
    }
    for (const [kind, items] of Object.entries(file.dependencies)) {
      for (const item of texts(items)) {
        (kind === 'pip' ? pip : conda).add(item);
      }
    }
  }
  return { version: wanted, conda: [...conda], pip: [...pip] };
}

/** The environment a published notebook names in its metadata (its latest version). */
export function attachedEnvironment(
  info: IPackageInfo
): { owner: string; name: string; version: string | null } | null {
  for (const file of info.files ?? []) {
    if (file.version !== info.latest_version || file.type !== 'ipynb') {
      continue;
    }
    const environment = file.attrs?.environment as
      { owner?: unknown; name?: unknown; version?: unknown } | undefined;
    if (
      environment &&
      typeof environment.owner === 'string' &&
      typeof environment.name === 'string'
    ) {
      return {
        owner: environment.owner,
        name: environment.name,
        version:
          typeof environment.version === 'string' ? environment.version : null
      };
    }
  }
  return null;
}

/**
 * The user's settings of the extension (schema/plugin.json, shown in Lab's Settings
 * Editor) and how they become the publish dialog's defaults.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { INamespace, IPublishedMetadata, IStatus } from './api';

export type Visibility = 'public' | 'private';

export interface IRepositorySettings {
  /** Proposed in the login dialog when the Jupyter server has no repository yet. */
  repositoryUrl: string;
  /** Where to publish by default (when you may publish there). */
  defaultNamespace: string;
  defaultVisibility: Visibility;
  defaultLabel: string;
  /** Whether a notebook's kernel environment goes along by default. */
  attachEnvironment: boolean;
}

/** The defaults; schema/plugin.json declares the same (a Jest test checks). */
export const DEFAULT_SETTINGS: Readonly<IRepositorySettings> = {
  repositoryUrl: '',
  defaultNamespace: '',
  defaultVisibility: 'public',
  defaultLabel: 'main',
  attachEnvironment: true
};

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value.trim() : fallback;
}

/**
 * The settings from the registry's composite value. Lab validates against the schema,
 * but a hand-edited settings file may still hold anything: what is not usable falls
 * back to the default.
 */
export function readSettings(composite: unknown): IRepositorySettings {
  const values =
    composite && typeof composite === 'object'
      ? (composite as { [key: string]: unknown })
      : {};
  const visibility = values.defaultVisibility;
  return {
    repositoryUrl: text(values.repositoryUrl, DEFAULT_SETTINGS.repositoryUrl),
    defaultNamespace: text(
      values.defaultNamespace,
      DEFAULT_SETTINGS.defaultNamespace
    ),
    defaultVisibility:
      visibility === 'public' || visibility === 'private'
        ? visibility
        : DEFAULT_SETTINGS.defaultVisibility,
    defaultLabel:
      text(values.defaultLabel, DEFAULT_SETTINGS.defaultLabel) ||
      DEFAULT_SETTINGS.defaultLabel,
    attachEnvironment:
      typeof values.attachEnvironment === 'boolean'
        ? values.attachEnvironment
        : DEFAULT_SETTINGS.attachEnvironment
  };
}

/** What the publish dialog starts with. */
export interface IPublishDefaults {
  namespace: string;
  label: string;
  visibility: Visibility;
  attachEnvironment: boolean;
}

/** The namespace the user may publish to that `login` names (in any case), if any. */
function namespaceNamed(
  namespaces: INamespace[],
  login: string | undefined
): string | undefined {
  const wanted = login?.toLowerCase();
  return wanted
    ? namespaces.find(namespace => namespace.login.toLowerCase() === wanted)
        ?.login
    : undefined;
}

/**
 * The dialog's defaults: the namespace of an earlier publish of the same notebook, else
 * the configured default namespace, else the user's own, as long as the user may
 * publish there; label, visibility and "attach the environment" from the settings.
 */
export function publishDefaults(
  settings: IRepositorySettings,
  status: Pick<IStatus, 'user' | 'namespaces'>,
  previous: IPublishedMetadata | null
): IPublishDefaults {
  const candidates = [
    previous?.owner,
    settings.defaultNamespace,
    status.user?.login
  ];
  const namespace =
    candidates
      .map(login => namespaceNamed(status.namespaces, login))
      .find(login => login !== undefined) ??
    status.namespaces[0]?.login ??
    '';
  return {
    namespace,
    label: settings.defaultLabel,
    visibility: settings.defaultVisibility,
    attachEnvironment: settings.attachEnvironment
  };
}

/** Hosts a repository on this machine is reached at, over plain http. */
const LOCAL_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The repository URL the user typed, made usable: without a scheme it is taken as
 * `https://` (`http://` for this machine: localhost, 127.x, [::1]); anything else that is
 * not an http(s) URL is explained. `url` is '' when nothing was typed.
 */
export function normaliseRepositoryUrl(
  typed: string,
  trans: TranslationBundle
): { url: string; error: null } | { url: null; error: string } {
  const text = typed.trim();
  if (!text) {
    return { url: '', error: null };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text);
  let candidate = text;
  if (!scheme || !text.includes('//')) {
    const rest = text.replace(/^\/+/, '');
    const host = rest.split(/[/?#]/)[0].replace(/:\d*$/, '');
    if (scheme && !/^\d+$/.test(text.slice(scheme[0].length).split('/')[0])) {
      // "ftp:x" or "mailto:x": a scheme that is not a host with a port
      return {
        url: null,
        error: trans.__(
          'The repository URL must start with http:// or https://, not “%1”.',
          scheme[0]
        )
      };
    }
    candidate = (LOCAL_HOST.test(host) ? 'http://' : 'https://') + rest;
  }
  let parsed: URL;
  try {
    parsed = new URL(candidate);
  } catch {
    return {
      url: null,
      error: trans.__(
        '“%1” is not a URL; write it like https://repo.example.org.',
        text
      )
    };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return {
      url: null,
      error: trans.__(
        'The repository URL must start with http:// or https://, not “%1”.',
        parsed.protocol + '//'
      )
    };
  }
  if (!parsed.hostname) {
    return {
      url: null,
      error: trans.__('“%1” names no host.', text)
    };
  }
  return { url: candidate.replace(/\/+$/, ''), error: null };
}

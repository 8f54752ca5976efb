/**
 * The repository settings / login dialog: the repository URL and either a token or a
 * username and password. The Jupyter server extension stores the credentials server-side
 * (a password is exchanged for a token there); the browser never keeps them.
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import type { IStatus, LoginRequest } from './api';
import { field, h } from './dom';
import { messageOf } from './errors';
import { normaliseRepositoryUrl } from './settings';
import { RepositoryState } from './state';

/** One sentence on the connection, for the dialog and the sidebar. */
export function describeConnection(
  status: IStatus,
  trans: TranslationBundle
): string {
  if (status.connected && status.user) {
    return trans.__('Connected to %1 as %2.', status.url, status.user.login);
  }
  if (status.error) {
    return status.error;
  }
  if (status.url) {
    return trans.__('Not logged in to %1.', status.url);
  }
  return trans.__('No repository is configured yet.');
}

class LoginForm extends Widget {
  constructor(
    private readonly state: RepositoryState,
    reason: string | undefined
  ) {
    super();
    const trans = (this.trans = state.trans);
    this.addClass('jp-JupyterRepo-form');
    this.addClass('jp-JupyterRepo-loginForm');
    const status = state.status;
    // Text, not type="url": the browser's check would disable "Log in" without a word
    // for "repo.example.org"; the URL is normalised (or explained) on submit instead.
    this.url = h('input', {
      type: 'text',
      inputmode: 'url',
      spellcheck: 'false',
      name: 'url',
      class: 'jp-mod-styled',
      // eslint-disable-next-line jupyter/no-untranslated-string -- an example URL
      placeholder: 'https://repo.example.org',
      value: status.url ?? state.settings.repositoryUrl
    });
    this.token = h('input', {
      type: 'password',
      name: 'token',
      class: 'jp-mod-styled',
      autocomplete: 'off',
      'aria-describedby': 'jp-JupyterRepo-tokenHint',
      placeholder: trans.__('Paste your token')
    });
    this.username = h('input', {
      type: 'text',
      name: 'username',
      class: 'jp-mod-styled',
      autocomplete: 'username'
    });
    this.password = h('input', {
      type: 'password',
      name: 'password',
      class: 'jp-mod-styled',
      autocomplete: 'current-password'
    });
    this.method = h(
      'select',
      { name: 'method', class: 'jp-mod-styled' },
      h('option', { value: 'token' }, trans.__('Token')),
      h('option', { value: 'password' }, trans.__('Username and password'))
    );
    const tokenFields = h(
      'div',
      { class: 'jp-JupyterRepo-tokenFields' },
      field(trans.__('Token'), this.token),
      // Outside the label, so the field's name stays "Token"; read out as its description.
      h(
        'small',
        { class: 'jp-JupyterRepo-hint', id: 'jp-JupyterRepo-tokenHint' },
        trans.__(
          'Create one on the repository’s account page, or with “jupyter repo admin issue-token”.'
        )
      )
    );
    const passwordFields = h(
      'div',
      { class: 'jp-JupyterRepo-passwordFields', hidden: true },
      field(trans.__('Username'), this.username),
      field(trans.__('Password'), this.password)
    );
    this.method.addEventListener('change', () => {
      tokenFields.hidden = this.method.value !== 'token';
      passwordFields.hidden = this.method.value === 'token';
    });
    this.error = h('div', {
      class: 'jp-JupyterRepo-error',
      role: 'alert',
      hidden: true
    });
    this.connection = h(
      'p',
      { class: 'jp-JupyterRepo-connection' },
      describeConnection(status, trans)
    );
    // What an earlier attempt said no longer holds once the user changes something.
    this.node.addEventListener('input', () => this.clearError());
    this.node.addEventListener('change', () => this.clearError());
    this.node.append(
      reason && reason !== status.error
        ? h('p', { class: 'jp-JupyterRepo-reason' }, reason)
        : '',
      this.connection,
      field(trans.__('Repository URL'), this.url),
      field(trans.__('Log in with'), this.method),
      tokenFields,
      passwordFields,
      this.error
    );
  }

  /** Log in; answers whether the repository accepted the credentials. */
  async submit(): Promise<boolean> {
    const trans = this.trans;
    this.clearError();
    const typed = normaliseRepositoryUrl(this.url.value, trans);
    if (typed.error !== null) {
      return this.fail(typed.error);
    }
    if (typed.url) {
      this.url.value = typed.url; // what is used is what the user sees
    }
    const url = typed.url || undefined;
    let request: LoginRequest;
    if (this.method.value === 'token') {
      const token = this.token.value.trim();
      if (!token) {
        return this.fail(trans.__('Enter a token.'));
      }
      request = { url, token };
    } else {
      const username = this.username.value.trim();
      if (!username || !this.password.value) {
        return this.fail(trans.__('Enter your username and password.'));
      }
      request = { url, username, password: this.password.value };
    }
    try {
      const status = await this.state.client.login(request);
      this.state.update(status);
      this.connection.textContent = describeConnection(status, trans);
      if (!status.connected) {
        return this.fail(
          status.error ??
            trans.__('The repository did not accept these credentials.')
        );
      }
      return true;
    } catch (error) {
      return this.fail(messageOf(error));
    }
  }

  private clearError(): void {
    this.error.textContent = '';
    this.error.hidden = true;
  }

  private fail(message: string): false {
    this.error.textContent = message;
    this.error.hidden = false;
    return false;
  }

  private readonly trans: TranslationBundle;
  private readonly connection: HTMLElement;
  private readonly url: HTMLInputElement;
  private readonly token: HTMLInputElement;
  private readonly username: HTMLInputElement;
  private readonly password: HTMLInputElement;
  private readonly method: HTMLSelectElement;
  private readonly error: HTMLElement;
}

/** A dialog that stays open until the login worked (or the user gives up). */
class LoginDialog extends Dialog<void> {
  constructor(
    private readonly form: LoginForm,
    private readonly buttonList: Dialog.IButton[],
    title: string
  ) {
    super({
      title,
      body: form,
      buttons: buttonList,
      focusNodeSelector: 'input[name="url"]'
    });
    this.addClass('jp-JupyterRepo-dialog');
  }

  resolve(index?: number): void {
    const button = this.buttonList[index ?? this.buttonList.length - 1];
    if (button?.actions.includes(LOGIN)) {
      void this.form.submit().then(ok => ok && super.resolve(index));
      return;
    }
    super.resolve(index);
  }
}

/** Button actions (whatever the labels say in the user's language). */
const LOGIN = 'jupyter-repo-login';
const LOGOUT = 'jupyter-repo-logout';

/**
 * Show the settings / login dialog. Answers whether the Lab is connected afterwards.
 * `reason` explains why it opened on its own (e.g. before a publish).
 */
export async function openLoginDialog(
  state: RepositoryState,
  reason?: string
): Promise<boolean> {
  const trans = state.trans;
  await state.refresh();
  const buttons = [Dialog.cancelButton({ label: trans.__('Cancel') })];
  if (state.status.connected) {
    buttons.push(
      Dialog.createButton({
        label: trans.__('Log out'),
        accept: false,
        displayType: 'warn',
        actions: [LOGOUT]
      })
    );
  }
  buttons.push(
    Dialog.okButton({ label: trans.__('Log in'), actions: [LOGIN] })
  );
  const dialog = new LoginDialog(
    new LoginForm(state, reason),
    buttons,
    trans.__('Repository settings')
  );
  const answer = await dialog.launch();
  if (answer.button.actions.includes(LOGOUT)) {
    await confirmLogout(state);
  }
  return state.status.connected;
}

/**
 * Log out after the user saw what it does (Lab shows one dialog at a time, so this one
 * follows the settings dialog rather than opening over it).
 */
async function confirmLogout(state: RepositoryState): Promise<void> {
  const trans = state.trans;
  const status = state.status;
  const confirmed = await showDialog({
    title: trans.__('Log out of the repository?'),
    body: new Widget({
      node: h(
        'div',
        { class: 'jp-JupyterRepo-confirm' },
        h(
          'p',
          {},
          trans.__(
            'You are logged in to %1 as %2.',
            status.url ?? '',
            status.user?.login ?? ''
          )
        ),
        h(
          'p',
          {},
          trans.__(
            'Logging out forgets the token saved on this Jupyter server (and revokes it if it was created here by logging in with a password). Publishing, and opening or installing private packages, will need logging in again.'
          )
        )
      )
    }),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Log out') })
    ]
  });
  if (!confirmed.button.accept) {
    return;
  }
  try {
    state.update(await state.client.logout());
  } catch (error) {
    await showErrorMessage(trans.__('Logging out failed'), messageOf(error));
  }
}

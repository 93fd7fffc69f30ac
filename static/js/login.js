// 登录 / log in: where reading needs a login (GEOAPP_READ_REQUIRES_LOGIN), the page asks GET /auth/session (open,
// never refused) before anything else and, when nobody is logged in, shows a dialog that logs in through
// POST /auth/login. That answer sets the httpOnly cookie geoapp_token, which then authorises every same-origin
// request of the page (fetches, tile images, export links, the vector-tile worker's fetches). Where reading is
// open the page looks exactly as before: no dialog, no user badge.
import { lang, setLang, t, translatePage } from './i18n.js';

const $ = (sel) => document.querySelector(sel);
let session = null; // the /auth/session answer: {read_requires_login, lang, user}
let shown = null; // the open dialog's promise, so a second 401 does not open a second dialog

async function post(url, body) {
  return fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The API's refusal in the page's language: the one error body {code, description, zh, en}. */
function messageOf(body, status) {
  return body?.[lang()] || body?.description || `${status}`;
}

function dialogHtml() {
  return `<form class="login-box" data-testid="login-form" novalidate>
      <h2 id="login-title" data-i18n="loginTitle"></h2>
      <p class="hint" data-i18n="loginHint"></p>
      <label class="field"><span data-i18n="username"></span>
        <input name="username" autocomplete="username" required data-testid="login-username"></label>
      <label class="field"><span data-i18n="password"></span>
        <input name="password" type="password" autocomplete="current-password" required
          data-testid="login-password"></label>
      <p class="login-error" role="alert" data-testid="login-error"></p>
      <button type="submit" data-testid="login-submit" data-i18n="loginSubmit"></button>
    </form>`;
}

/** Show the dialog until a login succeeds; resolves with the account ({username, display_name, role …}). */
function showDialog() {
  if (shown) return shown;
  const el = document.createElement('div');
  el.id = 'login';
  el.className = 'login-backdrop';
  el.dataset.testid = 'login-dialog';
  el.setAttribute('role', 'dialog');
  el.setAttribute('aria-modal', 'true');
  el.setAttribute('aria-labelledby', 'login-title');
  el.innerHTML = dialogHtml();
  ($('main') || document.body).appendChild(el);
  translatePage(el);
  document.body.dataset.login = 'required';
  const form = el.querySelector('form');
  const error = el.querySelector('.login-error');
  let lastError = null; // the refusal's detail, shown again in the other language after a switch
  const showErr = () => {
    error.textContent = lastError ? lastError() : '';
  };
  el.addEventListener('login-relabel', showErr);
  form.elements.username.focus();
  shown = new Promise((resolve) => {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const button = form.querySelector('button');
      button.disabled = true;
      button.textContent = t('loggingIn');
      try {
        const r = await post('/auth/login', {
          username: form.elements.username.value, password: form.elements.password.value,
        });
        const body = await r.json().catch(() => null);
        if (r.ok) {
          el.remove();
          shown = null;
          resolve(body.user);
          return;
        }
        lastError = () => messageOf(body, r.status);
        form.elements.password.value = '';
        form.elements.password.focus();
      } catch (err) {
        lastError = () => t('loginUnreachable');
      }
      showErr();
      button.disabled = false;
      button.textContent = t('loginSubmit');
    });
  });
  return shown;
}

/** The logged-in user's name and the 退出登录 button, in the header before the language switch. */
function showUser(user) {
  document.body.dataset.login = 'in';
  if ($('#login-user')) return;
  const name = document.createElement('span');
  name.id = 'login-user';
  name.dataset.testid = 'login-user';
  name.dataset.i18nTitle = 'loggedInAs';
  name.textContent = user.display_name || user.username;
  const out = document.createElement('button');
  out.id = 'logout';
  out.type = 'button';
  out.dataset.testid = 'logout';
  out.dataset.i18n = 'logout';
  out.addEventListener('click', async () => {
    out.disabled = true;
    await post('/auth/logout').catch(() => null); // revokes the token and clears the cookie
    window.location.reload(); // GET /auth/session then finds nobody: the dialog again
  });
  const header = $('header#top');
  header.insertBefore(name, $('#lang-switch'));
  header.insertBefore(out, $('#lang-switch'));
  translatePage(header);
}

/** Before the page loads anything: learn whether reading needs a login and, if it does, log in. Resolves with
 * the account, or null where reading is open. The page's language switch works while the dialog is up (the
 * choice goes into the URL's lang, which the page reads when it starts). */
export async function ensureLogin() {
  try {
    const r = await fetch('/auth/session', { headers: { Accept: 'application/json' } });
    session = r.ok ? await r.json() : null;
  } catch (err) {
    session = null;
  }
  if (!session?.read_requires_login) {
    document.body.dataset.login = 'off';
    return null;
  }
  if (session.user) {
    showUser(session.user);
    return session.user;
  }
  const params = new URLSearchParams(window.location.search);
  setLang(params.get('lang') || session.lang);
  translatePage();
  const switcher = $('#lang-switch');
  const switchLang = () => {
    setLang(lang() === 'en' ? 'zh' : 'en');
    const url = new URL(window.location.href);
    url.searchParams.set('lang', lang());
    window.history.replaceState(null, '', url);
    translatePage();
    $('#login')?.dispatchEvent(new Event('login-relabel'));
  };
  switcher.addEventListener('click', switchLang);
  const user = await showDialog();
  switcher.removeEventListener('click', switchLang); // the page binds its own switch once it starts
  session.user = user;
  showUser(user);
  return user;
}

/** A read answered 401 after the page started (the login expired or was revoked): log in again and reload. */
export function loginExpired() {
  if (!session?.read_requires_login || shown) return;
  $('#login-user')?.remove();
  $('#logout')?.remove();
  showDialog().then(() => window.location.reload());
}

// Passkey ceremonies for the hosted pages: the one script they load (CSP script-src 'self').
// A button `data-webauthn="register|authenticate|discover"` inside a form asks the form's
// `data-options` URL for options, runs navigator.credentials, posts the answer to the form's
// `action`, and follows the `redirect` the server answers with. Everything else on the pages
// works without JavaScript.
(() => {
  'use strict';
  const b64url = {
    decode(text) {
      const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
      const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
      return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
    },
    encode(buffer) {
      const bytes = new Uint8Array(buffer);
      let text = '';
      for (const b of bytes) text += String.fromCharCode(b);
      return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    },
  };

  function creationOptions(publicKey) {
    const o = structuredClone(publicKey);
    o.challenge = b64url.decode(o.challenge);
    o.user.id = b64url.decode(o.user.id);
    for (const c of o.excludeCredentials ?? []) c.id = b64url.decode(c.id);
    return o;
  }

  function requestOptions(publicKey) {
    const o = structuredClone(publicKey);
    o.challenge = b64url.decode(o.challenge);
    for (const c of o.allowCredentials ?? []) c.id = b64url.decode(c.id);
    return o;
  }

  function answer(credential) {
    const r = credential.response;
    const response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64url.encode(r.attestationObject);
    } else {
      response.authenticatorData = b64url.encode(r.authenticatorData);
      response.signature = b64url.encode(r.signature);
      if (r.userHandle) response.userHandle = b64url.encode(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: b64url.encode(credential.rawId),
      type: credential.type,
      response,
      extensions: credential.getClientExtensionResults(),
    });
  }

  async function post(url, fields) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
      credentials: 'same-origin',
    });
    return response.json();
  }

  function showError(form, text) {
    let box = document.querySelector('[data-part="error"]');
    if (!box) {
      box = document.createElement('p');
      box.setAttribute('data-part', 'error');
      box.setAttribute('role', 'alert');
      form.before(box);
    }
    box.textContent = text;
  }

  // A conditional request waits in the autofill until used; a click aborts it first (a browser
  // runs one WebAuthn request at a time).
  let waiting = null;

  async function ceremony(form, kind, mediation) {
    if (waiting) waiting.abort();
    const controller = mediation ? new AbortController() : null;
    waiting = controller;
    const csrf = form.querySelector('input[name="csrf_token"]').value;
    const started = await post(form.dataset.options, { csrf_token: csrf });
    if (started.redirect) return location.assign(started.redirect);
    if (started.error) return showError(form, started.error);
    const publicKey = started.options.publicKey;
    const credential =
      kind === 'register'
        ? await navigator.credentials.create({ publicKey: creationOptions(publicKey) })
        : await navigator.credentials.get({
            publicKey: requestOptions(publicKey),
            ...(mediation ? { mediation, signal: controller.signal } : {}),
          });
    if (waiting === controller) waiting = null;
    const fields = { csrf_token: csrf, ceremony: started.ceremony, credential: answer(credential) };
    const name = form.querySelector('input[name="name"]');
    if (name) fields.name = name.value;
    const redirect = form.querySelector('input[name="redirect_url"]');
    if (redirect) fields.redirect_url = redirect.value;
    const done = await post(form.action, fields);
    if (done.redirect) return location.assign(done.redirect);
    showError(form, done.error ?? failed(form));
  }

  // The page's words for a ceremony that failed without an answer from the server.
  function failed(form) {
    return form.dataset.errorText || 'The passkey could not be used.';
  }

  function run(form, kind, mediation) {
    ceremony(form, kind, mediation).catch((e) => {
      // The user closed the dialog, or conditional mediation was superseded by a click.
      if (e && e.name !== 'AbortError') showError(form, failed(form));
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    if (!window.PublicKeyCredential) {
      for (const el of document.querySelectorAll('[data-webauthn-form]')) el.hidden = true;
      return;
    }
    for (const button of document.querySelectorAll('[data-webauthn]')) {
      const form = button.closest('form');
      button.addEventListener('click', (event) => {
        event.preventDefault();
        run(form, button.dataset.webauthn);
      });
    }
    // Conditional UI: passkeys offered in the email field's autofill, where supported.
    const conditional = document.querySelector('form[data-webauthn-conditional]');
    if (conditional && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
        if (available) run(conditional, 'discover', 'conditional');
      });
    }
  });
})();

// Passkeys: a form marked data-passkey="create" or "get" asks the server for options
// (data-options), lets the browser create or use a passkey, and posts the answer back in
// the form's hidden "credential" field. The server checks everything; this only carries it.
(function () {
  "use strict";

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBytes(descriptors) {
    return (descriptors || []).map(function (d) {
      return { type: d.type, id: toBytes(d.id), transports: d.transports };
    });
  }

  function creationOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.user.id = toBytes(o.user.id);
    o.excludeCredentials = withBytes(o.excludeCredentials);
    return { publicKey: o };
  }

  function requestOptions(o) {
    o.challenge = toBytes(o.challenge);
    o.allowCredentials = withBytes(o.allowCredentials);
    return { publicKey: o };
  }

  function answer(credential) {
    var r = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = toText(r.userHandle);
    }
    return out;
  }

  function problem(form, text) {
    var place = form.querySelector("[data-passkey-problem]");
    place.textContent = text;
    place.hidden = false;
  }

  function run(form) {
    var create = form.dataset.passkey === "create";
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    return fetch(form.dataset.options, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" }
    }).then(function (reply) {
      return reply.json().then(function (body) {
        if (!reply.ok) { throw new Error(body.error || "The server did not answer."); }
        return create
          ? navigator.credentials.create(creationOptions(body))
          : navigator.credentials.get(requestOptions(body));
      });
    }).then(function (credential) {
      form.querySelector("input[name=credential]").value = JSON.stringify(answer(credential));
      form.submit();
    });
  }

  function start(form) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      problem(form, "This browser cannot use passkeys. Use a code instead.");
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (create(form) && !form.reportValidity()) { return; }
      run(form).catch(function (error) {
        var name = error && error.name;
        if (name === "NotAllowedError") {
          problem(form, "The passkey was not used (cancelled or timed out). Try again.");
        } else if (name === "InvalidStateError") {
          problem(form, "This device already holds a passkey for your account.");
        } else {
          problem(form, (error && error.message) || "The passkey did not work. Try again.");
        }
      });
    });
  }

  function create(form) { return form.dataset.passkey === "create"; }

  document.querySelectorAll("form[data-passkey]").forEach(start);
}());

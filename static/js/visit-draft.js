/* What a teacher types into the home-visit form is never lost.
 *
 * Every change is kept in localStorage under the form's data-draft-key until the visit is
 * saved. The form is sent with fetch(), so that a failed submission leaves the page as it
 * is: when the connection drops, a message says so and the teacher submits again later;
 * when the server sends the form back with errors (400), it replaces this one; when the
 * session has expired, the login page comes next and, after logging in, this form again,
 * where the draft is restored. Photos cannot be kept in localStorage: they stay chosen
 * while the page is open (also when the form comes back with errors elsewhere), and the
 * page says so when the connection drops. Plain JavaScript, no library.
 */
(function () {
  "use strict";

  var SKIPPED_TYPES = ["submit", "button", "reset", "file"];

  function fieldsOf(form) {
    return Array.prototype.filter.call(form.elements, function (element) {
      return element.name && element.name !== "csrfmiddlewaretoken" && !element.disabled &&
        SKIPPED_TYPES.indexOf(element.type) === -1;
    });
  }

  function readValues(form) {
    var values = {};
    fieldsOf(form).forEach(function (element) {
      if (element.type === "checkbox") {
        values[element.name] = values[element.name] || [];
        if (element.checked) values[element.name].push(element.value);
      } else if (element.type === "radio") {
        if (element.checked) values[element.name] = element.value;
        else if (!(element.name in values)) values[element.name] = null;
      } else {
        values[element.name] = element.value;
      }
    });
    return values;
  }

  function writeValues(form, values) {
    fieldsOf(form).forEach(function (element) {
      if (!(element.name in values)) return;
      var value = values[element.name];
      if (element.type === "checkbox") element.checked = (value || []).indexOf(element.value) !== -1;
      else if (element.type === "radio") element.checked = element.value === value;
      else element.value = value;
    });
  }

  // localStorage can be missing or full (private browsing): the form then works without drafts.
  var drafts = {
    load: function (key) {
      try { return JSON.parse(window.localStorage.getItem(key)); } catch (error) { return null; }
    },
    save: function (key, values) {
      try {
        window.localStorage.setItem(key, JSON.stringify({ savedAt: Date.now(), values: values }));
      } catch (error) { /* nothing more can be done on this device */ }
    },
    remove: function (key) {
      try { window.localStorage.removeItem(key); } catch (error) { /* as above */ }
    }
  };

  // A policy not delivered needs a reason: its field shows, and is required, only then.
  function showReasons(form) {
    form.querySelectorAll("[data-policy-line]").forEach(function (line) {
      var notDelivered = line.querySelector('input[type="radio"][value="no"]');
      var reason = line.querySelector("[data-policy-reason]");
      var shown = Boolean(notDelivered && notDelivered.checked);
      reason.hidden = !shown;
      reason.querySelector("input, textarea").required = shown;
    });
  }

  function show(id) {
    var element = document.getElementById(id);
    element.hidden = false;
    element.scrollIntoView({ block: "center" });
  }

  function hide(id) {
    document.getElementById(id).hidden = true;
  }

  function fileInputs(form) {
    return Array.prototype.slice.call(form.querySelectorAll('input[type="file"]'));
  }

  function hasPhotos(form) {
    return fileInputs(form).some(function (input) { return input.files && input.files.length > 0; });
  }

  // Photos the server did not refuse stay chosen in the form it sent back.
  function keepPhotos(oldForm, newForm) {
    fileInputs(oldForm).forEach(function (oldInput) {
      var newInput = newForm.querySelector('input[type="file"][name="' + oldInput.name + '"]');
      if (!newInput || !oldInput.files || !oldInput.files.length) return;
      if (newInput.closest(".has-error")) return;
      try { newInput.files = oldInput.files; } catch (error) { /* an old browser: choose again */ }
    });
  }

  function replacePage(html) {
    var oldForm = document.getElementById("visit-form");
    var page = new DOMParser().parseFromString(html, "text/html");
    var main = page.querySelector("main");
    document.querySelector("main").replaceWith(main);
    var newForm = document.getElementById("visit-form");
    keepPhotos(oldForm, newForm);
    setUp(newForm);
    var error = document.querySelector(".has-error, .errorlist");
    if (error) error.scrollIntoView({ block: "center" });
  }

  function submit(form, key, button) {
    var loginPath = form.getAttribute("data-login-url");
    hide("offline-message");
    hide("failed-message");
    button.disabled = true;
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected) {
          // Saved, and redirected to the visit; or the session expired: keep the draft.
          if (new URL(response.url).pathname !== loginPath) drafts.remove(key);
          window.location.replace(response.url);
          return null;
        }
        if (response.status === 400) return response.text().then(replacePage);
        button.disabled = false;
        show("failed-message");
        return null;
      })
      .catch(function () {
        button.disabled = false;
        document.getElementById("offline-photos").hidden = !hasPhotos(form);
        show("offline-message");
      });
  }

  function setUp(form) {
    var key = form.getAttribute("data-draft-key");
    var keep = function () {
      showReasons(form);
      drafts.save(key, readValues(form));
    };
    form.addEventListener("input", keep);
    form.addEventListener("change", keep);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      keep();
      submit(form, key, event.submitter || form.querySelector('button[type="submit"]'));
    });
    document.getElementById("draft-discard").addEventListener("click", function () {
      drafts.remove(key);
      form.reset();
      showReasons(form);
      hide("draft-notice");
    });
    // A form sent back with errors already holds what was typed; otherwise restore a draft.
    var draft = form.hasAttribute("data-bound") ? null : drafts.load(key);
    if (draft && draft.values && JSON.stringify(draft.values) !== JSON.stringify(readValues(form))) {
      writeValues(form, draft.values);
      document.getElementById("draft-notice").hidden = false;
    }
    showReasons(form);
  }

  var form = document.getElementById("visit-form");
  if (form) setUp(form);
})();

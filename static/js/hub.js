/* Utilis hub helpers: live partial swaps and small show/hide toggles. Every page works
   without this file; it only saves round trips. No third-party code. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  /* The query to send: a whole form's fields, or one input's, plus any inputs named by
     data-live-include (a CSS selector). */
  function paramsFor(el) {
    var isForm = el.tagName === "FORM";
    var params = new URLSearchParams(isForm ? new FormData(el) : undefined);
    if (!isForm) params.set(el.name, el.value);
    var include = el.getAttribute("data-live-include");
    if (include) {
      document.querySelectorAll(include).forEach(function (input) {
        params.set(input.name, input.value);
      });
    }
    params.delete("csrfmiddlewaretoken");
    return params;
  }

  /* An element with data-live-url fetches that URL as the user types and puts the HTML it
     gets into #data-live-target. data-live-push keeps the page URL shareable. */
  function bindLive(el) {
    var target = document.getElementById(el.getAttribute("data-live-target"));
    if (!target) return;
    var controller = null;
    var last = null;
    var run = debounce(function () {
      var params = paramsFor(el);
      var query = params.toString();
      if (query === last) return;
      last = query;
      if (controller) controller.abort();
      controller = new AbortController();
      target.setAttribute("aria-busy", "true");
      fetch(el.getAttribute("data-live-url") + "?" + query, {
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
        signal: controller.signal,
      })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          target.innerHTML = html;
          target.removeAttribute("aria-busy");
          if (el.hasAttribute("data-live-push")) {
            history.replaceState(null, "", window.location.pathname + "?" + query);
          }
        })
        .catch(function (error) {
          if (error.name === "AbortError") return;
          target.removeAttribute("aria-busy");
          last = null; // let the next keystroke try again
        });
    }, 250);
    el.addEventListener("input", run);
    el.addEventListener("change", run);
    if (el.tagName === "FORM") {
      el.addEventListener("submit", function (event) {
        event.preventDefault();
        last = null;
        run();
      });
    }
  }

  /* Show only the block for the chosen radio value: <input name=X> + [data-X="value"]. */
  function bindChoice(name, attribute) {
    var radios = document.querySelectorAll('input[name="' + name + '"]');
    if (!radios.length) return;
    function update() {
      var chosen = document.querySelector('input[name="' + name + '"]:checked');
      document.querySelectorAll("[" + attribute + "]").forEach(function (block) {
        block.hidden = !chosen || block.getAttribute(attribute).split(" ").indexOf(chosen.value) === -1;
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  }

  /* A new applicant is a person (first/last name) or an organisation (its name). */
  function markApplicantNameFields() {
    var map = {
      "id_applicant-first_name": "person",
      "id_applicant-last_name": "person",
      "id_applicant-organisation_name": "organisation",
    };
    Object.keys(map).forEach(function (id) {
      var input = document.getElementById(id);
      var field = input && input.closest(".field");
      if (field) field.setAttribute("data-applicant-kind", map[id]);
    });
  }

  /* <input data-mirror="id"> keeps a hidden input of another form in step with it. */
  function bindMirror(input) {
    var copy = document.getElementById(input.getAttribute("data-mirror"));
    if (!copy) return;
    input.addEventListener("input", function () { copy.value = input.value; });
  }

  /* <input data-autosubmit> sends its form as soon as it changes (e.g. a chart's view); the
     form's own submit button still works without this file. */
  function bindAutosubmit(input) {
    input.addEventListener("change", function () {
      if (input.form) input.form.submit();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-autosubmit]").forEach(bindAutosubmit);
    document.querySelectorAll("[data-mirror]").forEach(bindMirror);
    document.querySelectorAll("[data-live-url]").forEach(bindLive);
    bindChoice("applicant", "data-applicant");
    markApplicantNameFields();
    bindChoice("applicant-kind", "data-applicant-kind");
  });
})();

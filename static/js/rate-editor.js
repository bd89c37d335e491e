/* The rate version editor: a form per rate component, built from the component registry's own
   parameter schema (the JSON in #rate-schema, made by billing.rating.components.schema_document),
   over the version form's components textarea. The textarea stays the truth the server reads:
   every edit here rewrites it, and JSON pasted into it can be loaded into the form (import /
   export). Field errors come from the server (#rate-errors: per component, {field path:
   message}) and are shown next to the field they name. Without this file the textarea alone
   still works. No third-party code. */
(function () {
  "use strict";

  var form = document.querySelector("[data-rate-editor]");
  if (!form) return;
  var textarea = form.querySelector("textarea[name=components]");
  var host = form.querySelector("[data-rate-editor-host]");
  var schemaNode = document.getElementById("rate-schema");
  if (!textarea || !host || !schemaNode) return;

  var KINDS = {};
  JSON.parse(schemaNode.textContent).forEach(function (kind) { KINDS[kind.kind] = kind; });
  var errorsNode = document.getElementById("rate-errors");
  var errors = (errorsNode && JSON.parse(errorsNode.textContent)) || [];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var PALETTE = ["#cfe3f7", "#ffd9a8", "#f7b9b3", "#c9ebd0", "#e3d3f5", "#fff1a8", "#d6dde6", "#b9e4ec"];
  var components = [];
  var uid = 0;

  /* ---- small DOM helpers ---------------------------------------------------------------- */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "cls") node.className = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function button(text, onclick, extra) {
    var attrs = { type: "button", cls: "btn btn--small", text: text, onclick: onclick };
    Object.keys(extra || {}).forEach(function (k) { attrs[k] = extra[k]; });
    return el("button", attrs);
  }
  function nextId() { uid += 1; return "re-" + uid; }
  function humane(name) { return name.replace(/_/g, " "); }
  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function isSeasonal(v) {
    if (isObject(v)) {
      var keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === "by_month") return true;
      return keys.some(function (k) { return isSeasonal(v[k]); });
    }
    if (Array.isArray(v)) return v.some(isSeasonal);
    return false;
  }
  function text(v) { return v === undefined || v === null ? "" : String(v); }

  /* ---- the textarea is the truth the server reads --------------------------------------- */
  function sync() {
    textarea.value = JSON.stringify(components, null, 2);
  }
  function setParam(params, name, value) {
    if (value === undefined || value === "" || (Array.isArray(value) && !value.length) ||
        (isObject(value) && !Object.keys(value).length)) delete params[name];
    else params[name] = value;
    sync();
  }

  /* ---- errors next to the fields --------------------------------------------------------- */
  function showErrors(card, index) {
    var mine = errors[index] || {};
    Object.keys(mine).forEach(function (path) {
      // The field the path names, else the nearest enclosing one ("tiers[2]" -> "tiers").
      var target = null;
      var probe = path;
      while (probe && !target) {
        target = card.querySelector('[data-path="' + CSS.escape(probe) + '"]');
        var shorter = probe.replace(/(\[[^\]]*\]|\.[^.\[]*)$/, "");
        if (shorter === probe) break;
        probe = shorter;
      }
      var holder = target || card.querySelector("[data-errors-general]");
      var input = target && (target.matches("input,select,textarea") ? target : target.querySelector("input,select,textarea"));
      if (input) input.setAttribute("aria-invalid", "true");
      var list = el("ul", { cls: "errors", "data-testid": "field-error", "data-error-path": path },
        [el("li", { text: mine[path] })]);
      if (target && target.matches("input,select,textarea")) target.insertAdjacentElement("afterend", list);
      else holder.appendChild(list);
    });
  }
  function forget(index) { errors[index] = {}; }

  /* ---- one parameter ----------------------------------------------------------------------- */
  function labelText(spec) {
    var out = humane(spec.name);
    if (spec.unit) out += " (" + spec.unit + ")";
    return out;
  }
  function hint(spec) {
    var bits = [];
    if (spec.help) bits.push(spec.help);
    if (!spec.required && spec.default !== null && spec.default !== undefined)
      bits.push("Default: " + (spec.default === true ? "yes" : spec.default === false ? "no" : spec.default) + ".");
    if (spec.required_if) bits.push("Required when " + humane(spec.required_if[0]) + " is " + spec.required_if[1] + ".");
    return bits.join(" ");
  }
  function wrapField(spec, control, id, wide) {
    return el("div", { cls: "field" + (wide ? " field--wide" : "") }, [
      el("label", { "for": id, text: labelText(spec) }, spec.required ? [el("span", { cls: "req", "aria-hidden": "true", text: " *" })] : []),
      control,
      hint(spec) ? el("p", { cls: "help", text: hint(spec) }) : null
    ]);
  }

  function scalarInput(spec, value, path, onchange, label) {
    var id = nextId();
    var control;
    if (spec.type === "choice" || spec.type === "bool") {
      var options = spec.type === "bool" ? [["true", "yes"], ["false", "no"]] : spec.choices.map(function (c) { return [c, humane(c)]; });
      var current = spec.type === "bool" ? (value === true ? "true" : value === false ? "false" : "") : text(value);
      control = el("select", { id: id, "data-path": path, "aria-label": label || null,
        onchange: function () {
          var v = control.value;
          onchange(spec.type === "bool" ? (v === "" ? undefined : v === "true") : (v || undefined));
        } },
        [el("option", { value: "", text: spec.required ? "(choose)" : "(default" + (spec.default !== null && spec.default !== undefined ? ": " + (spec.default === true ? "yes" : spec.default === false ? "no" : humane(String(spec.default))) : "") + ")" })]
          .concat(options.map(function (o) { return el("option", { value: o[0], text: o[1], selected: o[0] === current }); })));
    } else if (spec.type === "tags") {
      control = el("input", { type: "text", id: id, "data-path": path, value: (value || []).join(", "),
        placeholder: "tags, separated by commas", "aria-label": label || null,
        oninput: function () {
          onchange(control.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean));
        } });
    } else {
      control = el("input", { type: "text", id: id, "data-path": path, value: text(value), "aria-label": label || null,
        inputmode: spec.type === "decimal" || spec.type === "int" ? "decimal" : null,
        oninput: function () {
          var v = control.value.trim();
          if (spec.type === "int" && /^-?\d+$/.test(v)) onchange(parseInt(v, 10));
          else onchange(v === "" ? undefined : v);
        } });
    }
    return { control: control, id: id };
  }

  function jsonInput(spec, value, path, onchange) {
    var id = nextId();
    var note = el("p", { cls: "help", text: "This value varies by month ({\"by_month\": {\"1\": ..., \"12\": ...}}) or has a shape the form does not draw: edit it as JSON." });
    var area = el("textarea", { id: id, rows: 4, cls: "mono", "data-path": path,
      oninput: function () {
        try { onchange(area.value.trim() ? JSON.parse(area.value) : undefined); area.removeAttribute("aria-invalid"); }
        catch (e) { area.setAttribute("aria-invalid", "true"); }
      } });
    area.value = JSON.stringify(value, null, 1);
    var field = wrapField(spec, area, id, true);
    field.appendChild(note);
    return field;
  }

  /* Blocks: rows of (up to, price); the last row's empty limit is "no limit". */
  function tiersTable(spec, tiers, path, onchange, caption) {
    var rows = (tiers || []).map(function (t) { return { limit: text(t.limit), price: text(t.price) }; });
    if (!rows.length) rows.push({ limit: "", price: "" });
    var wrap = el("div", { cls: "tiers-edit", "data-path": path });
    function emit() {
      onchange(rows.map(function (r) {
        var out = {};
        if (r.limit.trim() !== "") out.limit = r.limit.trim();
        out.price = r.price.trim();
        return out;
      }));
    }
    function draw() {
      wrap.textContent = "";
      var body = el("tbody");
      rows.forEach(function (row, i) {
        var n = i + 1;
        var limit = el("input", { type: "text", inputmode: "decimal", value: row.limit, "data-path": path + "[" + n + "].limit",
          "aria-label": (caption ? caption + " " : "") + "block " + n + " up to", placeholder: i === rows.length - 1 ? "no limit" : "",
          oninput: function () { row.limit = limit.value; emit(); } });
        var price = el("input", { type: "text", inputmode: "decimal", value: row.price, "data-path": path + "[" + n + "].price",
          "aria-label": (caption ? caption + " " : "") + "block " + n + " price",
          oninput: function () { row.price = price.value; emit(); } });
        body.appendChild(el("tr", {}, [
          el("td", { text: String(n) }),
          el("td", {}, [limit]),
          el("td", {}, [price]),
          el("td", {}, [rows.length > 1 ? button("Remove", function () { rows.splice(i, 1); emit(); draw(); },
            { "aria-label": "Remove " + (caption ? caption + " " : "") + "block " + n }) : null])
        ]));
      });
      wrap.appendChild(el("table", { cls: "table table--compact tiers-table" }, [
        el("thead", {}, [el("tr", {}, [el("th", { text: "Block" }), el("th", { text: "Up to" + (spec.limit_unit ? " (" + spec.limit_unit + ")" : "") }),
          el("th", { text: "Price" + (spec.unit ? " (" + spec.unit + ")" : "") }), el("th", {})])]),
        body
      ]));
      wrap.appendChild(button("Add block", function () { rows.push({ limit: "", price: "" }); emit(); draw(); },
        { "aria-label": "Add " + (caption ? caption + " " : "") + "block" }));
    }
    draw();
    return wrap;
  }

  function scheduleNames() {
    var names = [];
    components.forEach(function (c) {
      if (c.kind !== "tou_schedule" || !c.params) return;
      ["weekday", "weekend"].forEach(function (g) {
        (Array.isArray(c.params[g]) ? c.params[g] : []).forEach(function (row) {
          (Array.isArray(row) ? row : []).forEach(function (n) { if (typeof n === "string" && names.indexOf(n) < 0) names.push(n); });
        });
      });
    });
    return names;
  }

  /* TOU periods: each a name and blocks (one open block is a plain price). */
  function periodsEditor(spec, value, path, onchange) {
    var rows = Object.keys(value || {}).map(function (name) {
      var raw = value[name];
      return { name: name, tiers: Array.isArray(raw) ? raw : [{ price: text(raw) }] };
    });
    if (!rows.length) scheduleNames().forEach(function (n) { rows.push({ name: n, tiers: [{ price: "" }] }); });
    if (!rows.length) rows.push({ name: "", tiers: [{ price: "" }] });
    var listId = nextId();
    var wrap = el("div", { cls: "periods-edit", "data-path": path });
    function emit() {
      var out = {};
      rows.forEach(function (r) {
        var tiers = r.tiers;
        var plain = tiers.length === 1 && (tiers[0].limit === undefined || tiers[0].limit === "");
        out[r.name.trim()] = plain ? text(tiers[0].price) : tiers;
      });
      onchange(out);
    }
    function draw() {
      wrap.textContent = "";
      wrap.appendChild(el("datalist", { id: listId }, scheduleNames().map(function (n) { return el("option", { value: n }); })));
      rows.forEach(function (row, i) {
        var name = el("input", { type: "text", value: row.name, list: listId, "aria-label": "Period " + (i + 1) + " name",
          oninput: function () { row.name = name.value; emit(); } });
        var box = el("div", { cls: "period-edit", "data-path": path + "[" + row.name + "]" }, [
          el("div", { cls: "period-edit__head" }, [
            el("label", { text: "Period " + (i + 1) }), name,
            rows.length > 1 ? button("Remove period", function () { rows.splice(i, 1); emit(); draw(); }) : null
          ]),
          tiersTable(spec, row.tiers, path + "[" + row.name + "]", function (tiers) { row.tiers = tiers; emit(); }, row.name || "period " + (i + 1))
        ]);
        wrap.appendChild(box);
      });
      wrap.appendChild(button("Add period", function () { rows.push({ name: "", tiers: [{ price: "" }] }); emit(); draw(); }));
    }
    draw();
    return wrap;
  }

  /* A 12 x 24 TOU grid: pick a period, then click hours (or a month / an hour heading to fill
     its row / column). Laid out to fit the page width (no horizontal scrolling). */
  function gridEditor(spec, value, path, onchange, shared) {
    var grid = [];
    for (var m = 0; m < 12; m++) {
      var src = Array.isArray(value) && Array.isArray(value[m]) ? value[m] : [];
      var row = [];
      for (var h = 0; h < 24; h++) row.push(typeof src[h] === "string" ? src[h] : shared.names[0] || "off_peak");
      grid.push(row);
    }
    grid.forEach(function (r) { r.forEach(function (n) { if (shared.names.indexOf(n) < 0) shared.names.push(n); }); });
    if (!Array.isArray(value)) onchange(grid.map(function (r) { return r.slice(); }));
    var table = el("table", { cls: "tou-grid tou-grid--edit", "data-path": path, "aria-label": humane(spec.name) + " TOU grid" });
    function colour(name) { var i = shared.names.indexOf(name); return PALETTE[(i < 0 ? 0 : i) % PALETTE.length]; }
    function paint(cells) {
      if (!shared.selected) return;
      cells.forEach(function (c) { grid[c[0]][c[1]] = shared.selected; });
      onchange(grid.map(function (r) { return r.slice(); }));
      draw();
    }
    function draw() {
      table.textContent = "";
      var head = el("tr", {}, [el("th", { scope: "col", text: "" })]);
      for (var h = 0; h < 24; h++) {
        (function (hour) {
          head.appendChild(el("th", { scope: "col" }, [el("button", { type: "button", cls: "tou-grid__fill", text: String(hour),
            title: "Set " + hour + ":00 of every month", "aria-label": humane(spec.name) + " hour " + hour + " all months",
            onclick: function () { var cells = []; for (var mm = 0; mm < 12; mm++) cells.push([mm, hour]); paint(cells); } })]));
        })(h);
      }
      var body = el("tbody");
      grid.forEach(function (row, month) {
        var tr = el("tr", {}, [el("th", { scope: "row" }, [el("button", { type: "button", cls: "tou-grid__fill", text: MONTHS[month],
          title: "Set every hour of " + MONTHS[month], "aria-label": humane(spec.name) + " " + MONTHS[month] + " all hours",
          onclick: function () { var cells = []; for (var hh = 0; hh < 24; hh++) cells.push([month, hh]); paint(cells); } })])]);
        row.forEach(function (name, hour) {
          tr.appendChild(el("td", { style: "background: " + colour(name) }, [el("button", { type: "button", cls: "tou-grid__cell",
            text: name, title: MONTHS[month] + " " + hour + ":00 " + name, "data-path": path + "[" + (month + 1) + "][" + hour + "]",
            "aria-label": humane(spec.name) + " " + MONTHS[month] + " " + hour + ":00 " + name,
            onclick: function () { paint([[month, hour]]); } })]));
        });
        body.appendChild(tr);
      });
      table.appendChild(el("thead", {}, [head]));
      table.appendChild(body);
    }
    shared.redraw.push(draw);
    draw();
    return el("div", { cls: "field field--wide", "data-path": path }, [
      el("p", { cls: "grid-edit__label", text: labelText(spec) + (spec.required ? " *" : "") }),
      el("p", { cls: "help", text: (spec.help || "") + " Pick a period below, then click hours, or a month or hour heading to fill it." }),
      table
    ]);
  }

  function palette(shared) {
    var box = el("div", { cls: "tou-palette", role: "group", "aria-label": "TOU period to paint" });
    function draw() {
      box.textContent = "";
      box.appendChild(el("span", { cls: "muted small", text: "Paint with: " }));
      shared.names.forEach(function (name, i) {
        box.appendChild(el("button", { type: "button", cls: "btn btn--small tou-palette__pick", text: name,
          style: "background: " + PALETTE[i % PALETTE.length], "aria-pressed": shared.selected === name ? "true" : "false",
          onclick: function () { shared.selected = name; draw(); } }));
      });
      var input = el("input", { type: "text", cls: "tou-palette__new", placeholder: "new period", "aria-label": "New TOU period name" });
      box.appendChild(input);
      box.appendChild(button("Add period", function () {
        var name = input.value.trim();
        if (name && shared.names.indexOf(name) < 0) shared.names.push(name);
        if (name) shared.selected = name;
        draw();
        shared.redraw.forEach(function (f) { f(); });
      }));
    }
    shared.redrawPalette = draw;
    draw();
    return box;
  }

  function mappingEditor(spec, value, path, onchange) {
    var rows = Object.keys(value || {}).map(function (k) { return { key: k, value: text(value[k]) }; });
    if (!rows.length) rows.push({ key: "", value: "" });
    var wrap = el("div", { cls: "mapping-edit", "data-path": path });
    function emit() {
      var out = {};
      rows.forEach(function (r) { if (r.key.trim() || r.value.trim()) out[r.key.trim()] = r.value.trim(); });
      onchange(out);
    }
    function draw() {
      wrap.textContent = "";
      var body = el("tbody");
      rows.forEach(function (row, i) {
        var key = el("input", { type: "text", value: row.key, "aria-label": (spec.key_label || "key") + " " + (i + 1),
          oninput: function () { row.key = key.value; emit(); } });
        var val = el("input", { type: "text", inputmode: "decimal", value: row.value, "data-path": path + "[" + row.key + "]",
          "aria-label": (spec.key_label || "key") + " " + (i + 1) + " " + (spec.unit || "value"),
          oninput: function () { row.value = val.value; emit(); } });
        body.appendChild(el("tr", {}, [el("td", {}, [key]), el("td", {}, [val]),
          el("td", {}, [button("Remove", function () { rows.splice(i, 1); emit(); draw(); })])]));
      });
      wrap.appendChild(el("table", { cls: "table table--compact" }, [
        el("thead", {}, [el("tr", {}, [el("th", { text: spec.key_label || "key" }), el("th", { text: spec.unit || "value" }), el("th", {})])]), body]));
      wrap.appendChild(button("Add " + (spec.key_label || "row"), function () { rows.push({ key: "", value: "" }); draw(); }));
    }
    draw();
    return wrap;
  }

  function monthsEditor(spec, value, path, onchange) {
    var values = {};
    for (var m = 1; m <= 12; m++) values[m] = text(value && (value[String(m)] !== undefined ? value[String(m)] : value[m]));
    var cells = [];
    for (var month = 1; month <= 12; month++) {
      (function (mm) {
        var input = el("input", { type: "text", inputmode: "decimal", value: values[mm], "data-path": path + "[" + mm + "]",
          "aria-label": humane(spec.name) + " " + MONTHS[mm - 1],
          oninput: function () {
            values[mm] = input.value.trim();
            var out = {};
            Object.keys(values).forEach(function (k) { if (values[k] !== "") out[k] = values[k]; });
            onchange(out);
          } });
        cells.push(el("label", { cls: "months-edit__cell" }, [el("span", { text: MONTHS[mm - 1] }), input]));
      })(month);
    }
    return el("div", { cls: "months-edit", "data-path": path }, cells);
  }

  function paramField(spec, params, prefix, shared) {
    var path = prefix + spec.name;
    var value = params[spec.name];
    var set = function (v) { setParam(params, spec.name, v); };
    var complex = ["tiers", "periods", "grid", "mapping", "months", "object"].indexOf(spec.type) >= 0;
    var shapeOk = value === undefined || !isSeasonal(value) && (
      (spec.type === "tiers" && Array.isArray(value)) || (spec.type === "grid" && Array.isArray(value)) ||
      ((spec.type === "periods" || spec.type === "mapping" || spec.type === "months" || spec.type === "object") && isObject(value)) ||
      (spec.type === "tags" && Array.isArray(value)) ||
      (!complex && spec.type !== "tags" && !isObject(value) && !Array.isArray(value)));
    if (!shapeOk) return jsonInput(spec, value, path, set);
    if (spec.type === "grid") return gridEditor(spec, value, path, set, shared);
    if (complex) {
      var inner;
      if (spec.type === "tiers") inner = tiersTable(spec, value, path, set, "");
      else if (spec.type === "periods") inner = periodsEditor(spec, value, path, set);
      else if (spec.type === "mapping") inner = mappingEditor(spec, value, path, set);
      else if (spec.type === "months") inner = monthsEditor(spec, value, path, set);
      else {
        var obj = isObject(value) ? value : {};
        inner = el("div", { cls: "form-grid object-edit", "data-path": path }, spec.fields.map(function (f) {
          return paramField(f, obj, path + ".", shared);
        }));
        // An object's members write into `obj`; the object itself is set when any member is.
        inner.addEventListener("input", function () { set(Object.keys(obj).length ? obj : undefined); });
        inner.addEventListener("change", function () { set(Object.keys(obj).length ? obj : undefined); });
      }
      return el("fieldset", { cls: "field field--wide param-group", "data-path": path }, [
        el("legend", { text: labelText(spec) + (spec.required ? " *" : "") }),
        hint(spec) ? el("p", { cls: "help", text: hint(spec) }) : null,
        inner
      ]);
    }
    var made = scalarInput(spec, value, path, set);
    return wrapField(spec, made.control, made.id, false);
  }

  /* ---- one component ------------------------------------------------------------------------ */
  function componentCard(component, index) {
    var kind = KINDS[component.kind];
    if (!isObject(component.params)) component.params = {};
    var card = el("fieldset", { cls: "rate-component", "data-testid": "component-" + (index + 1) });
    card.appendChild(el("legend", { text: "Component " + (index + 1) + ": " + (kind ? kind.label : "unknown kind " + component.kind) }));
    var kindId = nextId();
    var kindSelect = el("select", { id: kindId, "data-path": "kind", onchange: function () {
      component.kind = kindSelect.value;
      component.params = {};
      forget(index);
      sync();
      render();
    } }, Object.keys(KINDS).map(function (k) {
      return el("option", { value: k, text: KINDS[k].label + " (" + k + ")", selected: k === component.kind });
    }));
    if (!kind) kindSelect.insertBefore(el("option", { value: component.kind, text: String(component.kind), selected: true }), kindSelect.firstChild);
    function textField(name, label, help) {
      var id = nextId();
      var value = name === "tags" ? (component.tags || []).join(", ") : text(component[name]);
      var input = el("input", { type: "text", id: id, value: value, "data-path": name, oninput: function () {
        if (name === "tags") {
          var tags = input.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
          if (tags.length) component.tags = tags; else delete component.tags;
        } else if (input.value.trim() || name === "code") component[name] = input.value.trim();
        else delete component[name];
        sync();
      } });
      return el("div", { cls: "field" }, [el("label", { "for": id, text: label }), input, help ? el("p", { cls: "help", text: help }) : null]);
    }
    card.appendChild(el("div", { cls: "form-grid" }, [
      el("div", { cls: "field" }, [el("label", { "for": kindId, text: "Kind" }), kindSelect]),
      textField("code", "Code", "Names the component on bill lines; unique in the version."),
      textField("description", "Description", "Shown on the bill (default: the kind's)."),
      textField("tags", "Tags", "Comma-separated, for percentages, taxes and minimums.")
    ]));
    if (kind) {
      if (kind.help) card.appendChild(el("p", { cls: "help", text: kind.help }));
      var shared = { names: [], selected: null, redraw: [] };
      var params = el("div", { cls: "form-grid" });
      var grids = kind.params.filter(function (s) { return s.type === "grid"; });
      kind.params.forEach(function (spec) {
        if (spec.type !== "grid") params.appendChild(paramField(spec, component.params, "", shared));
      });
      if (grids.length) {
        var gridFields = grids.map(function (spec) { return paramField(spec, component.params, "", shared); });
        shared.selected = shared.names[shared.names.length > 1 ? 1 : 0] || null;
        params.appendChild(el("div", { cls: "field field--wide" }, [palette(shared)]));
        gridFields.forEach(function (f) { params.appendChild(f); });
        params.appendChild(el("div", { cls: "field field--wide" }, [button("Weekends like weekdays", function () {
          if (Array.isArray(component.params.weekday)) {
            component.params.weekend = component.params.weekday.map(function (r) { return r.slice(); });
            sync();
            render();
          }
        })]));
      }
      card.appendChild(params);
    }
    card.appendChild(el("div", { "data-errors-general": "" }));
    card.appendChild(el("div", { cls: "actions" }, [
      index > 0 ? button("Move up", function () { move(index, -1); }) : null,
      index < components.length - 1 ? button("Move down", function () { move(index, 1); }) : null,
      button("Remove component", function () { components.splice(index, 1); errors.splice(index, 1); sync(); render(); },
        { cls: "btn btn--small btn--danger" })
    ]));
    showErrors(card, index);
    return card;
  }

  function move(index, step) {
    var other = index + step;
    var c = components[index]; components[index] = components[other]; components[other] = c;
    var e = errors[index]; errors[index] = errors[other]; errors[other] = e;
    sync();
    render();
  }

  function render() {
    host.textContent = "";
    components.forEach(function (c, i) { host.appendChild(componentCard(c, i)); });
    var choose = el("select", { id: "re-new-kind", "aria-label": "Kind of the new component" }, Object.keys(KINDS).map(function (k) {
      return el("option", { value: k, text: KINDS[k].label + " (" + k + ")" });
    }));
    host.appendChild(el("div", { cls: "rate-add" }, [
      el("label", { "for": "re-new-kind", text: "Add a component: " }), choose,
      button("Add component", function () {
        var kind = choose.value;
        var code = kind.replace(/_/g, "-");
        var taken = components.map(function (c) { return c.code; });
        var n = 2;
        while (taken.indexOf(code) >= 0) { code = kind.replace(/_/g, "-") + "-" + n; n += 1; }
        components.push({ kind: kind, code: code, params: {} });
        errors.push({});
        sync();
        render();
        var cards = host.querySelectorAll(".rate-component");
        cards[cards.length - 1].scrollIntoView({ block: "start" });
      })
    ]));
  }

  /* ---- import / export -------------------------------------------------------------------- */
  var status = form.querySelector("[data-rate-editor-status]");
  function load(fromUser) {
    var parsed;
    try { parsed = JSON.parse(textarea.value || "[]"); }
    catch (e) {
      if (status) status.textContent = "The JSON does not parse (" + e.message + "): fix it, then load it again.";
      return false;
    }
    if (!Array.isArray(parsed) || !parsed.every(isObject)) {
      if (status) status.textContent = "The JSON must be a list of components ({\"kind\", \"code\", \"params\"}).";
      return false;
    }
    components = parsed;
    if (fromUser) errors = [];
    if (status) status.textContent = fromUser ? "Loaded " + parsed.length + " components into the form." : "";
    render();
    return true;
  }
  var loadButton = form.querySelector("[data-rate-editor-load]");
  if (loadButton) loadButton.addEventListener("click", function () { load(true); });
  var exportLink = form.querySelector("[data-rate-editor-export]");
  if (exportLink) exportLink.addEventListener("click", function () {
    exportLink.setAttribute("href", "data:application/json;charset=utf-8," + encodeURIComponent(textarea.value));
  });

  if (load(false)) {
    host.hidden = false;
    var details = form.querySelector("[data-rate-editor-json]");
    if (details) details.open = false;
  }
})();

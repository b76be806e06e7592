// pagelab dashboard behaviour. Pages are rendered on the server; this file draws the Plotly
// figures they carry as JSON data blocks, polls the REST API for live status, and sends the
// forms and buttons to the REST API. No inline scripts anywhere: the CSP forbids them.
"use strict";

(() => {
  const API = "/api/v1";
  const POLL_MS = 2000;
  const ACTIVE = new Set(["queued", "running"]);

  // ---------- REST calls ----------

  class ApiError extends Error {
    constructor(problem, status) {
      super(problem.detail || problem.title || `HTTP ${status}`);
      this.status = status;
      this.fieldErrors = problem.errors || [];
    }
  }

  function signIn() {
    // The session ended (signed out elsewhere, expired, or its token revoked): sign in again
    // and come back here.
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/signin?${new URLSearchParams({ next: here })}`);
  }

  // Signed in, the dashboard's session cookie rides along with these same-origin requests
  // (HttpOnly: this script never sees it); the server checks their Origin on writes.
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${API}/${path}`, init);
    if (response.status === 401 && document.body.dataset.page !== "shared") {
      signIn();
    }
    if (response.status === 204) return null;
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) throw new ApiError(typeof data === "object" ? data : { detail: data }, response.status);
    return data;
  }

  function showError(target, error) {
    const box = typeof target === "string" ? document.getElementById(target) : target;
    if (!box) return;
    box.replaceChildren();
    const title = document.createElement("strong");
    title.textContent = error.message;
    box.append(title);
    if (error.fieldErrors && error.fieldErrors.length) {
      const list = document.createElement("ul");
      list.className = "form-errors";
      for (const item of error.fieldErrors) {
        const li = document.createElement("li");
        li.textContent = `${item.field}: ${item.message}`;
        list.append(li);
      }
      box.append(list);
    }
    box.hidden = false;
  }

  // ---------- figures ----------

  function drawFigure(element) {
    const block = document.getElementById(element.dataset.figure);
    const figure = JSON.parse(block.textContent);
    const config = {
      responsive: true,
      displaylogo: false,
      // The cloud button would upload the figure to Plotly's servers: not from this lab.
      modeBarButtonsToRemove: ["lasso2d", "select2d", "sendChartToCloud"],
      toImageButtonOptions: { format: "png", filename: element.dataset.fileName, scale: 2 },
    };
    return window.Plotly.newPlot(element, figure.data, figure.layout, config).then(() => {
      declutter(element);
      element.on("plotly_afterplot", () => declutter(element));
      if (figure.layout.meta && figure.layout.meta.run_ids) watchBrush(element);
      element.dataset.drawn = "true";
    });
  }

  const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

  // Figures in view are drawn first, then the rest one at a time, yielding between them so
  // the page answers input while a large sweep's figures are still being drawn below.
  // benchmarks/sweep_page.py reads the two marks.
  async function drawFigures() {
    const plots = [...document.querySelectorAll(".plot[data-figure]")];
    if (!plots.length || !window.Plotly) return;
    const inView = (element) => element.getBoundingClientRect().top < window.innerHeight;
    const first = plots.filter(inView);
    const later = plots.filter((element) => !inView(element));
    await Promise.all(first.map(drawFigure));
    performance.mark("pagelab:first-view-drawn");
    for (const element of later) {
      await nextTask();
      await drawFigure(element);
    }
    performance.mark("pagelab:figures-drawn");
  }

  // Point labels (a Pareto front's run numbers, heatmap cell values) are placed by Plotly
  // wherever the data puts them; hide each one that would overlap a text already shown, so
  // no two labels are drawn on top of each other. Hover still names every point.
  const MOVABLE_TEXT = ".textpoint text, .heatmap-label text, g.hm text";

  function overlaps(a, b) {
    return a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  }

  function declutter(element) {
    const movable = new Set(element.querySelectorAll(MOVABLE_TEXT));
    for (const text of movable) text.style.display = "";
    const kept = [];
    for (const text of element.querySelectorAll(".main-svg text")) {
      if (movable.has(text) || !text.textContent.trim()) continue;
      const box = text.getBoundingClientRect();
      if (box.width && box.height) kept.push(box);
    }
    for (const text of movable) {
      const box = text.getBoundingClientRect();
      if (!box.width || !text.textContent.trim()) continue;
      if (kept.some((other) => overlaps(box, other))) text.style.display = "none";
      else kept.push(box);
    }
  }

  // ---------- brushing: parallel coordinates filter the run table ----------

  // Box-selecting points on one or more axes of the parallel coordinates keeps the runs
  // that have a selected point on every axis touched; the run table shows only those.
  function watchBrush(element) {
    const clear = document.querySelector("button[data-action=clear-brush]");
    const apply = (points) => {
      const byAxis = new Map();
      for (const point of points || []) {
        if (!point.customdata) continue;
        if (!byAxis.has(point.x)) byAxis.set(point.x, new Set());
        byAxis.get(point.x).add(Number(point.customdata[0]));
      }
      const sets = [...byAxis.values()];
      for (const row of document.querySelectorAll("#runs tbody tr[data-run-id]")) {
        const id = Number(row.dataset.runId);
        const out = sets.length > 0 && !sets.every((set) => set.has(id));
        if (out) row.dataset.brushedOut = "true";
        else delete row.dataset.brushedOut;
      }
      if (clear) clear.hidden = sets.length === 0;
      countShownRuns();
    };
    element.on("plotly_selected", (event) => apply(event ? event.points : []));
    element.on("plotly_deselect", () => apply([]));
    if (clear) {
      clear.addEventListener("click", () => {
        const traces = element.data.map((_, index) => index);
        window.Plotly.relayout(element, { selections: [] })
          .then(() => window.Plotly.restyle(element, { selectedpoints: [null] }, traces))
          .then(() => apply([]));
      });
    }
  }

  // ---------- run table: sort, filter, colour ----------

  function cellValue(cell) {
    if (!cell) return "";
    const raw = cell.dataset.value;
    const number = raw === undefined ? NaN : Number(raw);
    return Number.isFinite(number) ? number : cell.textContent.trim().toLowerCase();
  }

  function countShownRuns() {
    const rows = [...document.querySelectorAll("#runs tbody tr[data-run-id]")];
    const shown = rows.filter((row) => !row.dataset.brushedOut && !row.dataset.filteredOut).length;
    const counter = document.getElementById("runs-shown");
    if (counter) counter.textContent = shown === rows.length ? `${rows.length} runs` : `${shown} of ${rows.length} runs shown`;
  }

  // "<1e6", ">=3", "64k": a number after a comparison, else text the cell must contain.
  function matches(cell, query) {
    const match = /^\s*(<=|>=|<|>|=)\s*(-?[\d.]+(?:e[+-]?\d+)?)\s*$/i.exec(query);
    if (match) {
      const value = cellValue(cell);
      if (typeof value !== "number") return false;
      const bound = Number(match[2]);
      return { "<": value < bound, "<=": value <= bound, ">": value > bound, ">=": value >= bound, "=": value === bound }[match[1]];
    }
    return cell.textContent.toLowerCase().includes(query.trim().toLowerCase());
  }

  function shadeColumns(table, headings) {
    headings.forEach((heading, column) => {
      const better = heading.dataset.better;
      if (!better) return;
      const cells = [...table.tBodies[0].rows].map((row) => row.cells[column]).filter(Boolean);
      const values = cells.map(cellValue).filter((value) => typeof value === "number");
      const low = Math.min(...values);
      const high = Math.max(...values);
      if (!(high > low)) return;
      for (const cell of cells) {
        const value = cellValue(cell);
        if (typeof value !== "number") continue;
        let goodness = (value - low) / (high - low);
        if (better === "lower") goodness = 1 - goodness;
        // Green for the good end, red for the bad, faint in the middle.
        const strength = Math.abs(goodness - 0.5) * 2;
        const hue = goodness >= 0.5 ? "31, 136, 61" : "207, 34, 46";
        cell.style.backgroundColor = `rgba(${hue}, ${(0.28 * strength).toFixed(3)})`;
      }
    });
  }

  function sortableTable(table) {
    const headings = [...table.tHead.rows[0].cells];
    const body = table.tBodies[0];
    shadeColumns(table, headings);
    headings.forEach((heading, column) => {
      if (!heading.dataset.sort) return;
      heading.classList.add("sort-key");
      heading.tabIndex = 0;
      const sort = () => {
        const ascending = heading.getAttribute("aria-sort") !== "ascending";
        for (const other of headings) other.removeAttribute("aria-sort");
        heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const rows = [...body.rows];
        rows.sort((a, b) => {
          const x = cellValue(a.cells[column]);
          const y = cellValue(b.cells[column]);
          const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : typeof x === "number" ? -1 : 1;
          return ascending ? order : -order;
        });
        body.append(...rows);
      };
      heading.addEventListener("click", sort);
      heading.addEventListener("keydown", (event) => {
        if (event.key === "Enter") sort();
      });
    });
    const filterRow = table.tHead.rows[1];
    if (!filterRow) return;
    filterRow.addEventListener("input", () => {
      const queries = [...filterRow.cells].map((cell) => cell.querySelector("input")?.value || "");
      for (const row of body.rows) {
        const out = queries.some((query, column) => query.trim() && !matches(row.cells[column], query));
        if (out) row.dataset.filteredOut = "true";
        else delete row.dataset.filteredOut;
      }
      countShownRuns();
    });
  }

  // Selectors above the charts re-render the page with the new choice.
  function bindChoiceForms() {
    for (const form of document.querySelectorAll("form.view-choices")) {
      form.querySelector(".show-choice").hidden = true;
      form.addEventListener("change", () => form.submit());
    }
  }

  // ---------- live status ----------

  function setBadge(badge, status) {
    if (!badge || badge.dataset.status === status) return;
    badge.className = `badge ${status}`;
    badge.dataset.status = status;
    badge.textContent = status;
  }

  function setProgress(holder, fraction) {
    if (!holder) return;
    const percent = Math.round(100 * (fraction || 0));
    holder.querySelector("progress").value = percent;
    holder.querySelector(".progress-text").textContent = `${percent}%`;
  }

  function poll(task) {
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      try {
        stopped = (await task()) === false;
      } catch (error) {
        console.warn("status poll failed:", error.message);
      }
      if (!stopped) setTimeout(tick, POLL_MS);
    };
    setTimeout(tick, POLL_MS);
  }

  // The list page asks the API for the same page it shows (same filters, same cursor) and
  // refreshes the status of the rows that were still queued or running.
  function watchList() {
    const activeRows = () => [...document.querySelectorAll("tr[data-experiment-id]")].filter((row) =>
      ACTIVE.has(row.querySelector(".badge").dataset.status));
    if (!activeRows().length) return;
    // The page's filter names are the API's; empty form fields mean "no filter".
    const query = new URLSearchParams();
    for (const [key, value] of new URLSearchParams(window.location.search)) {
      if (value) query.append(key, value);
    }
    poll(async () => {
      const listing = await api("GET", `experiments?${query}`);
      for (const item of listing.items) {
        const row = document.querySelector(`tr[data-experiment-id="${item.id}"]`);
        if (!row) continue;
        setBadge(row.querySelector(".badge"), item.status);
        const counts = item.run_counts;
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        const done = (counts.succeeded || 0) + (counts.failed || 0) + (counts.cancelled || 0);
        row.querySelector("[data-run-counts]").textContent = `${done}/${total}`;
      }
      return activeRows().length > 0;
    });
  }

  // The experiment page follows each run's progress, then reloads once everything has
  // finished so the server can draw the plots from the stored results.
  function watchExperiment(root) {
    const id = root.dataset.experimentId;
    if (!ACTIVE.has(root.dataset.status)) return;
    poll(async () => {
      const experiment = await api("GET", `experiments/${id}`);
      setBadge(document.getElementById("experiment-status"), experiment.status);
      for (const run of experiment.runs) {
        const row = document.querySelector(`tr[data-run-id="${run.id}"]`);
        if (!row) continue;
        setBadge(row.querySelector(".badge"), run.status);
        setProgress(row.querySelector("[data-run-progress]"), run.progress.fraction);
      }
      if (!ACTIVE.has(experiment.status)) {
        window.location.reload();
        return false;
      }
      return true;
    });
  }

  function watchRun(root) {
    if (!ACTIVE.has(root.dataset.status)) return;
    poll(async () => {
      const run = await api("GET", `runs/${root.dataset.runId}`);
      setBadge(document.getElementById("run-status"), run.status);
      setProgress(document.querySelector("[data-run-progress]"), run.progress.fraction);
      if (!ACTIVE.has(run.status)) {
        window.location.reload();
        return false;
      }
      return true;
    });
  }

  // ---------- buttons ----------

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      return false; // no clipboard permission (plain http, headless): the link is shown anyway
    }
  }

  const actions = {
    async cancel(button) {
      await api("POST", `experiments/${button.dataset.experimentId}/cancel`);
      window.location.reload();
    },
    async rerun(button) {
      await api("POST", `experiments/${button.dataset.experimentId}/rerun`);
      window.location.reload();
    },
    async delete(button) {
      if (!window.confirm("Delete this experiment and all its results?")) return;
      await api("DELETE", `experiments/${button.dataset.experimentId}`);
      window.location.assign("/");
    },
    async share(button) {
      const runIds = button.dataset.runIds.split(",").map(Number);
      const share = await api("POST", "shares", { view: button.dataset.view, run_ids: runIds });
      // On the server's public address (share.url is built on it), not necessarily this one.
      const url = new URL(`/s/${share.token}`, new URL(share.url, window.location.origin)).href;
      const output = document.getElementById("share-output");
      output.hidden = false;
      const field = output.querySelector("input");
      field.value = url;
      field.select();
      const copied = await copyText(url);
      output.querySelector("[data-share-note]").textContent = copied
        ? "Link copied to the clipboard."
        : "Copy the link above.";
    },
    async revoke(button) {
      await api("DELETE", `shares/${button.dataset.shareId}`);
      window.location.reload();
    },
    compare() {
      const chosen = [...document.querySelectorAll("input[name=compare-run]:checked")].map((box) => box.value);
      if (chosen.length < 2) {
        showError("compare-error", new Error("Choose at least two runs to compare."));
        return;
      }
      window.location.assign(`/compare?runs=${chosen.join(",")}`);
    },
  };

  function bindActions() {
    document.addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button || !(button.dataset.action in actions)) return;
      event.preventDefault();
      button.disabled = true;
      try {
        await actions[button.dataset.action](button);
      } catch (error) {
        showError("action-error", error);
      } finally {
        button.disabled = false;
      }
    });
  }

  // ---------- new experiment ----------

  // An input's value as the spec wants it; undefined when it is empty or the schema's
  // default, so the request says only what was chosen. The default is compared as JSON
  // reads it back: a float default of 1000.0 is the number 1000 here.
  function fieldValue(input) {
    const kind = input.dataset.kind;
    let value;
    if (kind === "checkbox") {
      value = input.checked;
    } else {
      const text = input.value.trim();
      if (text === "") return undefined;
      if (kind === "integer") value = /^-?\d+$/.test(text) ? Number(text) : text;
      else if (kind === "number") value = Number.isFinite(Number(text)) ? Number(text) : text;
      else value = text;
    }
    const fallback = JSON.stringify(JSON.parse(input.dataset.default));
    return JSON.stringify(value) === fallback ? undefined : value;
  }

  // Set the value at a dotted path, making the objects on the way; undefined removes it,
  // and a nested object (policy.khugepaged) it leaves empty goes too: the form has inputs
  // only inside objects whose empty form is their default (frontend/forms.py). The
  // section itself (policy) stays.
  function setPath(target, path, value) {
    const parts = path.split(".");
    const last = parts.pop();
    if (value !== undefined) {
      let node = target;
      for (const part of parts) {
        if (typeof node[part] !== "object" || node[part] === null) node[part] = {};
        node = node[part];
      }
      node[last] = value;
      return;
    }
    const chain = [target];
    for (const part of parts) {
      const next = chain[chain.length - 1][part];
      if (typeof next !== "object" || next === null) return;
      chain.push(next);
    }
    delete chain[chain.length - 1][last];
    for (let depth = parts.length - 1; depth >= 1; depth -= 1) {
      if (Object.keys(chain[depth + 1]).length) break;
      delete chain[depth][parts[depth]];
    }
  }

  // The request body the form describes; the JSON editor shows (and may replace) it.
  function formRequest(form) {
    const base = JSON.parse(form.querySelector("#template-base").textContent);
    const body = {
      name: form.elements.name.value.trim(),
      description: form.elements.description.value,
      tags: form.elements.tags.value.split(/[\s,]+/).filter(Boolean),
      spec: base.spec,
      sweep: {},
    };
    const source = form.querySelector("input[name=workload-source]:checked").value;
    if (source === "trace") {
      const trace = form.elements["trace-file"].value;
      const format = form.elements["trace-file"].selectedOptions[0]?.dataset.format;
      body.spec.workload = { trace: { path: trace, format } };
    } else {
      const generator = form.elements.generator.value;
      // The template's parameters that have no input (lists such as events) stay while its
      // generator is chosen; the JSON editor changes them.
      const template = base.spec.workload?.generator;
      const params = template?.name === generator ? template : { name: generator };
      for (const input of form.querySelectorAll(`fieldset[data-generator="${generator}"] [data-param]`)) {
        const value = fieldValue(input);
        if (value !== undefined) params[input.dataset.param] = value;
        else delete params[input.dataset.param];
      }
      body.spec.workload = { generator: params };
    }
    // The form picks the preset; the template's other machine settings (its memory tiers,
    // which sweeps such as machine.tiers.0.capacity_bytes point into) stay.
    const preset = form.elements.preset.value;
    body.spec.machine = { ...base.spec.machine };
    if (preset) body.spec.machine.preset = preset;
    else delete body.spec.machine.preset;
    for (const input of form.querySelectorAll("[data-spec-path]")) {
      setPath(body.spec, input.dataset.specPath, fieldValue(input));
    }
    for (const group of form.querySelectorAll("[data-sweep-path]")) {
      const values = [...group.querySelectorAll("input:checked")].map((box) => JSON.parse(box.value));
      if (values.length > 1) body.sweep[group.dataset.sweepPath] = values;
      else if (values.length === 1) setPath(body.spec, group.dataset.sweepPath, values[0]);
    }
    if (!Object.keys(body.sweep).length) delete body.sweep;
    return body;
  }

  function showGenerator(form) {
    const source = form.querySelector("input[name=workload-source]:checked").value;
    const generator = form.elements.generator.value;
    form.querySelector("#generator-fields").hidden = source !== "generator";
    form.querySelector("#trace-fields").hidden = source !== "trace";
    for (const set of form.querySelectorAll("fieldset[data-generator]")) {
      const shown = source === "generator" && set.dataset.generator === generator;
      set.hidden = !shown;
      set.disabled = !shown;
    }
  }

  async function uploadTrace(form) {
    const file = form.elements["trace-upload"].files[0];
    if (!file) throw new Error("Choose a trace file to upload.");
    const data = new FormData();
    data.append("file", file);
    const format = encodeURIComponent(form.elements["trace-format"].value);
    const trace = await api("POST", `traces?format=${format}`, data);
    const select = form.elements["trace-file"];
    // The same content uploaded again comes back as the trace already stored.
    let option = [...select.options].find((known) => known.value === trace.file_name);
    if (!option) {
      const text = `${trace.original_name} (${trace.format}, ${trace.accesses.toLocaleString()} accesses)`;
      option = new Option(text, trace.file_name);
      option.dataset.format = trace.format;
      select.append(option);
    }
    for (const placeholder of [...select.options].filter((known) => !known.value)) placeholder.remove();
    option.selected = true;
    select.disabled = false;
  }

  function newExperimentForm(form) {
    const editor = document.getElementById("spec-editor");
    const note = document.getElementById("editor-note");
    let editedByHand = false;
    const sync = () => {
      showGenerator(form);
      if (!editedByHand) editor.value = JSON.stringify(formRequest(form), null, 2);
    };
    form.addEventListener("input", (event) => {
      if (event.target !== editor) sync();
    });
    form.addEventListener("change", (event) => {
      if (event.target !== editor) sync();
    });
    editor.addEventListener("input", () => {
      editedByHand = true;
      note.hidden = false;
    });
    document.getElementById("editor-reset").addEventListener("click", () => {
      editedByHand = false;
      note.hidden = true;
      sync();
    });
    document.getElementById("trace-upload-button").addEventListener("click", async () => {
      try {
        await uploadTrace(form);
        document.getElementById("form-error").hidden = true;
        sync();
      } catch (error) {
        showError("form-error", error);
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      try {
        let body;
        try {
          body = JSON.parse(editor.value);
        } catch (error) {
          throw new Error(`The experiment JSON does not parse: ${error.message}`);
        }
        const experiment = await api("POST", "experiments", body);
        window.location.assign(`/experiments/${experiment.id}`);
      } catch (error) {
        showError("form-error", error);
        submit.disabled = false;
      }
    });
    sync();
  }

  // ---------- start ----------

  document.addEventListener("DOMContentLoaded", () => {
    drawFigures();
    bindActions();
    bindChoiceForms();
    for (const table of document.querySelectorAll("table.sortable")) sortableTable(table);
    const page = document.body.dataset.page;
    if (page === "list") watchList();
    const experiment = document.querySelector("[data-experiment-id][data-status]");
    if (page === "experiment" && experiment) watchExperiment(experiment);
    const run = document.querySelector("[data-run-id][data-status]");
    if (page === "run" && run) watchRun(run);
    const form = document.getElementById("experiment-form");
    if (form) newExperimentForm(form);
  });
})();

// The SPARQL editor of /query: runs the query against /sparql and shows the answer as a table, a
// problem+json error as a message, and offers the answer as CSV. Every value goes into the page as text.
"use strict";

(() => {
  const MAX_ROWS = 1000;
  const form = document.getElementById("editor");
  const editor = document.getElementById("query");
  const example = document.getElementById("example");
  const runButton = document.getElementById("run");
  const status = document.getElementById("status");
  const result = document.getElementById("result");
  const csv = document.getElementById("csv");
  let answered = null;   // the query text of the answer on show, for the CSV link

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function prefixes(query) {
    const found = [];
    for (const match of query.matchAll(/PREFIX\s+([\w-]*):\s*<([^>]*)>/gi)) found.push([match[1], match[2]]);
    return found.sort((a, b) => b[1].length - a[1].length);   // the longest namespace wins
  }

  // For reading only (the cell's title has the whole IRI): id:run/mine-1/rule/2 is no SPARQL name.
  function shorten(iri, known) {
    for (const [name, namespace] of known) {
      if (namespace && iri.startsWith(namespace) && !/[\s<>"]/.test(iri)) return `${name}:${iri.slice(namespace.length)}`;
    }
    return `<${iri}>`;
  }

  const XSD = "http://www.w3.org/2001/XMLSchema#";
  const NUMERIC = /#(integer|decimal|double|float|long|int|short|nonNegativeInteger|positiveInteger)$/;

  function cell(term, known) {
    const td = element("td");
    if (!term) return td;
    if (term.type === "uri") {
      td.append(element("span", shorten(term.value, known), "iri"));
      td.title = term.value;
    } else if (term.type === "bnode") {
      td.append(element("span", `_:${term.value}`, "bnode"));
    } else {
      td.append(element("span", term.value, "literal"));
      if (term["xml:lang"]) td.append(element("span", `@${term["xml:lang"]}`, "muted"));
      if (term.datatype) {
        td.title = shorten(term.datatype, known);
        if (NUMERIC.test(term.datatype)) td.className = "num";
        else if (!term.datatype.startsWith(XSD)) td.append(element("span", `^^${td.title}`, "muted"));
      }
    }
    return td;
  }

  function table(answer, known) {
    const vars = answer.head.vars || [];
    const rows = answer.results.bindings;
    const head = element("tr");
    for (const name of vars) head.append(element("th", `?${name}`));
    const body = element("tbody");
    for (const row of rows.slice(0, MAX_ROWS)) {
      const tr = element("tr");
      for (const name of vars) tr.append(cell(row[name], known));
      body.append(tr);
    }
    const thead = element("thead");
    thead.append(head);
    const out = element("table");
    out.id = "answer";
    out.append(thead, body);
    return out;
  }

  function fit() {   // the query's lines, within 8 to 30, as pages.py sizes it
    editor.rows = Math.max(8, Math.min(30, editor.value.split("\n").length + 1));
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = kind || "";
  }

  async function problem(response) {
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) {
      try {
        const body = await response.json();
        return `${body.title || response.statusText}: ${body.detail || ""}`.replace(/: $/, "");
      } catch (ignored) { /* not JSON after all: fall through */ }
    }
    return `${response.status} ${response.statusText}`;
  }

  function post(query, accept) {
    return fetch("/sparql", {method: "POST", headers: {"Accept": accept}, body: new URLSearchParams({query})});
  }

  async function run() {
    const query = editor.value;
    const known = prefixes(query);
    const started = performance.now();
    runButton.disabled = true;
    csv.hidden = true;
    result.replaceChildren();
    say("Running…", "busy");
    try {
      const response = await post(query, "application/sparql-results+json, text/turtle;q=0.9");
      const ms = Math.round(performance.now() - started);
      if (!response.ok) {
        say(await problem(response), "error");
        return;
      }
      if (!(response.headers.get("content-type") || "").includes("json")) {   // CONSTRUCT or DESCRIBE
        result.append(element("pre", await response.text(), "graph"));
        say(`Graph answer in ${ms} ms.`, "ok");
        return;
      }
      const answer = await response.json();
      if ("boolean" in answer) {
        result.append(element("p", String(answer.boolean), "boolean"));
        say(`ASK answer in ${ms} ms.`, "ok");
        return;
      }
      const count = answer.results.bindings.length;
      result.append(table(answer, known));
      const shown = count > MAX_ROWS ? ` (the first ${MAX_ROWS} shown; the CSV holds all)` : "";
      say(`${count} ${count === 1 ? "row" : "rows"} in ${ms} ms${shown}.`, "ok");
      answered = query;
      csv.hidden = false;
    } catch (error) {
      say(`The query could not be sent: ${error.message}`, "error");
    } finally {
      runButton.disabled = false;
    }
  }

  async function download(event) {
    event.preventDefault();
    if (answered === null) return;
    const response = await post(answered, "text/csv");
    if (!response.ok) {
      say(await problem(response), "error");
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const link = element("a");
    link.href = url;
    link.download = "results.csv";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  example.addEventListener("change", () => {
    const chosen = example.selectedOptions[0];
    if (chosen && chosen.dataset.query) {
      editor.value = chosen.dataset.query;
      fit();
    }
  });
  editor.addEventListener("input", () => {
    example.value = "";
    fit();
  });
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  csv.addEventListener("click", download);
})();

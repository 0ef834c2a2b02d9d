"""Server-rendered HTML pages: the rule list with filters, a rule's page, a document's heatmap, the rule
graph and the SPARQL editor. Plain HTML and inline SVG bars, no build step and no inline script (the editor's
script is a static file); every page reads what the REST API returns, so the two never disagree.

Every value is escaped, and a value from the store becomes a link only when it is an ``http(s)`` URL
(``web_url``): a ``javascript:`` or ``data:`` IRI in the knowledge graph is shown as text, never as a link.
Class colours come from ``palette.py``, as in the rule graph and the heatmaps.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from ..palette import NEG_COLOUR, OTHER_COLOUR, POS_COLOUR, class_colour

__all__ = [
    "rule_list_page",
    "rule_page",
    "document_page",
    "graph_page",
    "neurons_page",
    "query_page",
    "message_page",
    "web_url",
]

_STYLE = (
    """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 70rem; padding: 1rem 1.5rem; color: #222; }
nav a { margin-right: 1rem; } h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; width: 100%; } th, td { padding: .3rem .5rem; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; background: #f7f7f7; padding: .8rem; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; }
.token { display: inline-block; background: #fde0c5; border-radius: 3px; padding: 0 .3rem; margin: 0 .15rem .15rem 0; font-size: .85rem; }
.tabs a { margin-right: 1rem; } .tabs a.current { font-weight: 600; text-decoration: none; color: #222; }
.muted { color: #777; } .pager a { margin-right: 1rem; } a.link { margin-left: .3rem; } span.link code { color: #777; }
"""
    + f".pos {{ color: {POS_COLOUR}; }} .neg {{ color: {NEG_COLOUR}; }} .other {{ color: {OTHER_COLOUR}; }}\n"
)


_CSS_CLASS = {"Pos": "pos", "Neg": "neg"}


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


# What browsers drop before they read a URL's scheme (WHATWG URL): C0 controls and spaces at either end,
# and tabs and newlines anywhere; "java\tscript:" is a javascript: URL to them.
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile("[\t\n\r]")
_WEB_SCHEMES = ("http", "https")


def web_url(value: object) -> str | None:
    """``value`` as a browser would read it, when that is an absolute ``http``/``https`` URL; None for any
    other scheme (``javascript:``, ``data:``, ``vbscript:`` …), a relative reference or what does not parse."""
    text = _TAB_OR_NEWLINE.sub("", str(value).strip(_C0_AND_SPACE))
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme.lower() in _WEB_SCHEMES and parts.netloc else None


def _path(*segments: object) -> str:
    """A path of this site, each segment percent-encoded (a rule's id keeps its ``run/rule`` slash)."""
    return "/" + "/".join(quote(str(s), safe="/") for s in segments)


def _page(title: str, body: str, head: str = "") -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)} · kgexplain</title>"
        f"<meta name=viewport content='width=device-width, initial-scale=1'><style>{_STYLE}</style>{head}</head>"
        f"<body><nav><a href='/rules'>Rules</a><a href='/graph'>Rule graph</a><a href='/neurons'>Neurons</a>"
        f"<a href='/query'>SPARQL</a><a href='/docs'>API</a></nav><h1>{_e(title)}</h1>{body}</body></html>"
    )


def _bar(value: float, width: int = 120, colour: str = "#4d4d4d") -> str:
    """An inline SVG bar for a value in [0, 1], with the number beside it."""
    filled = max(0.0, min(1.0, float(value))) * width
    return (
        f"<svg width={width + 48} height=14 role=img aria-label='{value:.2f}'>"
        f"<rect width={width} height=12 y=1 fill='#eee'/><rect width={filled:.1f} height=12 y=1 fill='{colour}'/>"
        f"<text x={width + 6} y=11 font-size=11>{value:.2f}</text></svg>"
    )


def _class(name: str) -> str:
    return f"<span class={_CSS_CLASS.get(name, 'other')}>{_e(name)}</span>"


def _select(name: str, options: Sequence[tuple[str, str]], current: str | None) -> str:
    opts = "".join(
        f"<option value='{_e(v)}'{' selected' if v == (current or '') else ''}>{_e(t)}</option>" for v, t in options
    )
    return f"<select name={name} id={name}>{opts}</select>"


def rule_list_page(
    result: Mapping[str, Any], params: Mapping[str, Any], classes: Sequence[str] = ("Pos", "Neg")
) -> str:
    """``result`` is ``GET /api/rules``'s body; ``params`` the filters it was asked with; ``classes`` those the
    class filter offers (more than two with a dataset of more classes, issue #19)."""
    measure = result["measure"]
    form = (
        "<form class=filters method=get action='/rules'>"
        f"<label>class {_select('class', [('', 'any'), *((c, c) for c in classes)], params.get('class'))}</label>"
        f"<label>measure {_select('measure', [(m, m) for m in ('H', 'TC', 'TS', 'WTS')], measure)}</label>"
        f"<label>min confidence <input name=min_confidence id=min_confidence type=number step=0.05 min=0 max=1 "
        f"value='{_e(params.get('min_confidence', 0))}'></label>"
        f"<label>min support <input name=min_support id=min_support type=number min=0 value='{_e(params.get('min_support', 0))}'></label>"
        f"<label>property <input name=property id=property placeholder='P27' value='{_e(params.get('property') or '')}'></label>"
        f"<label>value <input name=value id=value placeholder='Q183' value='{_e(params.get('value') or '')}'></label>"
        f"<label>text <input name=q id=q value='{_e(params.get('q') or '')}'></label>"
        f"<label>sort {_select('sort', [(s, s) for s in ('confidence', 'support', 'lift', 'length')], params.get('sort'))}</label>"
        "<button type=submit id=apply>Apply</button></form>"
    )
    rows = "".join(
        f"<tr class=rule data-class='{_e(r['class'])}'><td><a href='{_e(_path('rules', r['id']))}'>{_e(r['label'])}</a></td>"
        f"<td>{_class(r['class'])}</td><td class=num>{r['support']}</td>"
        f"<td>{_bar(r['confidence'][measure], colour=class_colour(r['class']))}</td>"
        f"<td class=num>{r['lift']:.2f}</td><td class=muted>{_e(r['run'])}</td></tr>"
        for r in result["rules"]
    )
    total, offset, limit = result["total"], result["offset"], result["limit"]
    shown = f"{offset + 1}–{offset + len(result['rules'])} of {total}" if result["rules"] else "no rules match"
    links = []
    query = {k: v for k, v in params.items() if v not in (None, "")}
    if offset > 0:
        links.append(
            f"<a rel=prev href='/rules?{_e(urlencode({**query, 'offset': max(0, offset - limit)}))}'>previous</a>"
        )
    if offset + limit < total:
        links.append(f"<a rel=next href='/rules?{_e(urlencode({**query, 'offset': offset + limit}))}'>next</a>")
    table = (
        (
            f"<table id=rules><thead><tr><th>rule</th><th>class</th><th>support</th><th>conf<sub>{_e(measure)}</sub></th>"
            f"<th>lift</th><th>run</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        if rows
        else ""
    )
    return _page("Rules", f"{form}<p id=count>{shown}</p>{table}<p class=pager>{''.join(links)}</p>")


def _external_link(link: Mapping[str, Any]) -> str:
    """An item's link to another vocabulary: a link when its target is an http(s) URL, else escaped text."""
    tip = f"{link['of']} {link['relation']} {link['target']}"
    url = web_url(link["target"])
    if url is None:
        return f" <span class=link title='{_e(tip)}'>{_e(link['relation'])} <code>{_e(link['target'])}</code></span>"
    return f" <a class=link href='{_e(url)}' title='{_e(tip)}' rel='noopener noreferrer'>{_e(link['relation'])}</a>"


def rule_page(rule: Mapping[str, Any]) -> str:
    """``rule`` is ``GET /api/rules/{run}/{rule}``'s body."""
    bars = "".join(f"<tr><td>conf<sub>{_e(m)}</sub></td><td>{_bar(v)}</td></tr>" for m, v in rule["confidence"].items())
    items = "".join(
        f"<li>{_e(i['label'])} <span class=muted>({_e(i['direction'])}: <code>{_e(i['property'])}</code> = "
        f"<code>{_e(i['value'])}</code>)</span>"
        + "".join(_external_link(link) for link in i.get("links", []))
        + "</li>"
        for i in rule["antecedent"]
    )
    entities = "".join(
        f"<li><a href='{_e(_path('api', 'entities', e['id']))}'>{_e(e['label'] or e['id'])}</a> "
        f"<span class=muted>{_e(e['id'])}</span></li>"
        for e in rule["entities"]
    )
    documents = "".join(
        f"<li><a class=document href='{_e(_path('documents', rule['dataset'], d['id']))}'>{_e(d['id'])}</a></li>"
        for d in rule["documents"]
    )
    prov = rule["provenance"]
    provenance = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in sorted(prov.items()))
    body = (
        f"<p>{_class(rule['class'])} · support {rule['support']} · lift {rule['lift']:.2f} · "
        f"run <a href='/rules?{_e(urlencode({'run': rule['run']}))}'>{_e(rule['run'])}</a></p>"
        f"<h2>Antecedent</h2><ul id=items>{items}</ul>"
        f"<h2>Confidence</h2><table id=confidence>{bars}</table>"
        f"<h2>Covered entities ({len(rule['entities'])})</h2><ul id=entities>{entities}</ul>"
        f"<h2>Documents ({len(rule['documents'])})</h2><ul id=documents>{documents}</ul>"
        f"<h2>Provenance</h2><table id=provenance>{provenance}</table>"
    )
    return _page(rule["label"], body)


def document_page(doc: Mapping[str, Any], heatmap_html: str) -> str:
    target = doc.get("explained_class") or "positive"
    body = (
        f"<p>dataset {_e(doc['dataset'])} · P({_e(target)}) = {doc['prediction']:.3f} · run {_e(doc['run'])} · "
        f"{len(doc['mentions'])} grounded mentions</p>{heatmap_html}"
    )
    return _page(f"Document {doc['id']}", body)


def graph_page(run: str | None, components: Iterable[Sequence[Mapping[str, Any]]], png_url: str) -> str:
    sets = "".join(
        "<li>" + "; ".join(f"<a href='{_e(_path('rules', n['id']))}'>{_e(n['label'])}</a>" for n in members) + "</li>"
        for members in components
    )
    legend = " ".join(f"<span class={_CSS_CLASS[c]}>●</span> → {c}" for c in ("Pos", "Neg"))
    body = (
        f"<p class=muted>Rules are nodes (colour: class — {legend}; size: support); an edge joins two rules "
        f"that cover a common entity; each connected component is a closed rule set."
        f"{' Run ' + _e(run) + '.' if run else ''}</p>"
        f"<img id=graph src='{_e(png_url)}' alt='rule graph' style='max-width:100%'>"
        f"<h2>Closed rule sets</h2><ol id=components>{sets}</ol>"
    )
    return _page("Rule graph", body)


def _neuron_cell(parts: Sequence[Mapping[str, Any]]) -> str:
    """Neurons with the tokens that drive them (shaded by share); concepts by their label."""
    cells = []
    for part in parts:
        tokens = "".join(
            f"<span class=token style='opacity:{0.45 + 0.55 * min(1.0, t['share'] * 3):.2f}' "
            f"title='share {t['share']:.2f}'>{_e(t['word'])}</span>"
            for t in part.get("tokens", [])[:5]
        )
        cells.append(f"<div><b>{_e(part['name'])}</b> {tokens}</div>")
    return "".join(cells)


def neurons_page(result: Mapping[str, Any] | None, kind: str, message: str | None = None) -> str:
    """``result`` is ``GET /api/neurons/{kind}``'s body (None with ``message`` when there is no run)."""
    tabs = "".join(
        f"<a href='/neurons?kind={_e(k)}'{' class=current' if k == kind else ''}>{_e(label)}</a>"
        for k, label in (
            ("rules", "Neuron rules (ExplaiNN)"),
            ("redescriptions", "Redescriptions"),
            ("concepts", "Neuron ↔ concept rules"),
        )
    )
    if result is None:
        return _page("Neurons", f"<p class=tabs>{tabs}</p><p id=message>{_e(message)}</p>")
    if kind == "rules":
        head = "<tr><th>head</th><th>tail</th><th>l / k</th><th>applies</th><th>holds</th><th>confidence</th><th>gain (bits)</th></tr>"
        rows = "".join(
            f"<tr class=result><td>{_neuron_cell(r['parts'].get('head', []))}</td><td>{_neuron_cell(r['parts'].get('tail', []))}</td>"
            f"<td class=num>{r['l']} / {r['k']}</td><td class=num>{r['applies']}</td><td class=num>{r['holds']}</td>"
            f"<td>{_bar(r['confidence'])}</td><td class=num>{r['gain']:.1f}</td></tr>"
            for r in result["results"]
        )
    elif kind == "redescriptions":
        head = "<tr><th>neurons</th><th>⇔</th><th>Jaccard</th><th>p</th><th>p (randomized)</th><th>support</th></tr>"
        rows = "".join(
            f"<tr class=result><td><div>{_e(r['left'])}</div>{_neuron_cell(r['parts'].get('left', []))}</td>"
            f"<td>{_e(r['right'])}</td><td>{_bar(r['jaccard'])}</td>"
            f"<td class=num>{r['p']:.1e}</td><td class=num>{'—' if r.get('p_randomized') is None else format(r['p_randomized'], '.3f')}</td>"
            f"<td class=num>{r['support']}</td></tr>"
            for r in result["results"]
        )
    else:
        head = "<tr><th>concepts</th><th>neuron active</th><th>support</th><th>confidence</th><th>lift</th></tr>"
        rows = "".join(
            f"<tr class=result><td>{'<br>'.join(_e(c['name']) for c in r['parts'].get('concept', []))}</td>"
            f"<td>{_neuron_cell(r['parts'].get('neuron', []))}</td><td class=num>{r['support']}</td><td>{_bar(r['confidence'])}</td>"
            f"<td class=num>{r['lift']:.2f}</td></tr>"
            for r in result["results"]
        )
    body = (
        f"<p class=tabs>{tabs}</p><p class=muted>run {_e(result['run_id'])} · dataset {_e(result['dataset'])} · "
        f"{result['total']} results; tokens are those that drive each neuron most (input × gradient)</p>"
        f"<table id=results>{head}{rows}</table>"
    )
    return _page("Neurons", body)


def query_page(text: str, examples: Sequence[tuple[str, str, str]], chosen: str | None) -> str:
    """The SPARQL editor: ``text`` in the editor, ``examples`` as ``(key, title, query)`` to choose from
    (``chosen`` is selected). ``/static/editor.js`` runs the query against ``/sparql`` and fills the result;
    without it, the form posts the query to the endpoint."""
    options = "".join(
        f"<option value='{_e(key)}' data-query='{_e(query)}'{' selected' if key == chosen else ''}>{_e(title)}</option>"
        for key, title, query in examples
    )
    body = (
        "<form id=editor method=post action='/sparql'>"
        f"<div class=toolbar><label>Example <select id=example>"
        f"<option value=''{' selected' if chosen is None else ''}>(your query)</option>{options}</select></label>"
        f"<button type=submit id=run>Run</button><span class=muted>or Ctrl+Enter</span></div>"
        f"<textarea id=query name=query rows={_rows(text)} spellcheck=false autocapitalize=off autocomplete=off "
        f"aria-label='SPARQL query'>{_e(text)}</textarea></form>"
        "<div class=answer><p id=status role=status aria-live=polite></p>"
        "<a id=csv href='/sparql' download='results.csv' hidden>Download CSV</a></div>"
        "<div id=result></div>"
    )
    head = "<link rel=stylesheet href='/static/editor.css'><script src='/static/editor.js' defer></script>"
    return _page("SPARQL query", body, head)


def _rows(text: str) -> int:
    """The editor's height in lines: the query's, within 8 to 30 (editor.js keeps to the same)."""
    return max(8, min(30, text.count("\n") + 2))


def message_page(title: str, text: str) -> str:
    return _page(title, f"<p>{_e(text)}</p>")

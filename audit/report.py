"""Turn audit results (audit/plugin.py JSON) into the report: JSON, HTML, JUnit XML.

- JSON: the evidence document, valid against audit/report.schema.json, with a SHA-256 digest of
  its own canonical content (``integrity``): change one character and the digest no longer fits.
- HTML: for people. A summary a business owner can read first (score, worst-case cost per day,
  the top failures in plain words), then every host and control with its evidence.
  Self-contained (inline CSS, no scripts, no external assets), prints to PDF via @media print.
- JUnit XML: one testsuite per host, one testcase per control, for CI.

Every output is built from a scrubbed copy of the results: no secret reaches any of them.
"""
import datetime
import html
import json
import os
import hashlib
import xml.etree.ElementTree as ET

from audit import ROOT, core

REPORT_FORMAT = "voipguard-audit-report"
SCHEMA_PATH = os.path.join(ROOT, "audit", "report.schema.json")
_STATUS_RANK = {"unreachable": 0, "untrusted host key": 0, "inventory error": 0, "audited": 1, "no asterisk": 2}
_STATUS_TEXT = {"pass": "pass", "fail": "FAIL", "error": "ERROR", "waived": "waived",
                "not_applicable": "n/a"}


# -- building ----------------------------------------------------------------------------------

def build_report(results_list, fail_on=None):
    """One report over the hosts of one or more results documents (a fleet), worst host first."""
    if isinstance(results_list, dict):
        results_list = [results_list]
    results_list = [core.scrub(r) for r in results_list]
    hosts = []
    for results in results_list:
        for host in results.get("hosts") or []:
            hosts.append(_host(host))
    hosts.sort(key=_worst_first)
    first = results_list[0] if results_list else {}
    errors = [r.get("inventory_error") for r in results_list if r.get("inventory_error")]
    controls = [c for h in hosts for c in h["controls"]]
    summary = {
        "hosts": len(hosts),
        "hosts_by_status": _count(h["status"] for h in hosts),
        "score": core.score(controls),
        "exposure": core.fleet_exposure([h["exposure"] for h in hosts if h["status"] == "audited"]),
        "top_failures": _top_failures(hosts),
        "fail_on": fail_on,
        "failed_at_threshold": _failed_at(hosts, fail_on),
    }
    report = {
        "format": REPORT_FORMAT,
        "format_version": 1,
        "toolkit_version": first.get("toolkit_version") or "unknown",
        "generated": _now(),
        "audit_started": min((r.get("started") or "" for r in results_list), default=""),
        "audit_finished": max((r.get("finished") or "" for r in results_list), default=""),
        "run_by": first.get("run_by") or "",
        "inventory": ", ".join(sorted(set(str(r.get("inventory") or "") for r in results_list))),
        "inventory_error": "; ".join(errors) or None,
        "exposure_formula": core.EXPOSURE_FORMULA,
        "summary": summary,
        "hosts": hosts,
    }
    report["integrity"] = {"algorithm": "sha256", "digest": core.content_digest(report),
                           "covers": "canonical JSON (sorted keys, no spaces, UTF-8) of this "
                                     "document without its integrity member"}
    return report


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _count(values):
    out = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def _host(raw):
    status = raw.get("status") or "audited"
    controls = list(raw.get("controls") or [])
    if status != "audited":
        # Whatever the tests said, nothing was proven on this host.
        for control in controls:
            control["status"] = "not_applicable"
            control["message"] = "host %s: %s" % (status, raw.get("status_reason") or "")
    inputs = raw.get("exposure_inputs")
    if status == "audited" and inputs and "error" not in inputs:
        exposure = core.exposure_per_day(inputs)
    elif status == "audited":
        exposure = {"unlimited": True, "per_day": None, "currency": "EUR", "bound_by": None, "terms": [],
                    "reasons": ["exposure could not be computed: %s" % ((inputs or {}).get("error") or "no data")],
                    "formula": core.EXPOSURE_FORMULA}
    else:
        exposure = None
    return {
        "name": raw.get("name"), "address": raw.get("address") or raw.get("name"),
        "status": status, "status_reason": raw.get("status_reason") or "",
        "groups": raw.get("groups") or [], "info": raw.get("info") or {},
        "score": core.score(controls), "exposure": exposure,
        "controls": sorted(controls, key=lambda c: (c["status"] not in core.FAILING,
                                                    -core.SEVERITY_WEIGHTS[c["severity"]], c["id"])),
    }


def _worst_first(host):
    exposure = host["exposure"] or {}
    percent = host["score"]["percent"]
    return (_STATUS_RANK.get(host["status"], 1), not exposure.get("unlimited", False),
            -1 if percent is None else percent, -(exposure.get("per_day") or 0), host["name"] or "")


def _top_failures(hosts, limit=5):
    by_id = {}
    for host in hosts:
        for control in host["controls"]:
            if control["status"] in core.FAILING:
                entry = by_id.setdefault(control["id"], {
                    "id": control["id"], "severity": control["severity"], "title": control["title"],
                    "impact": control.get("impact") or control["title"],
                    "remediation": control.get("remediation") or {}, "hosts": []})
                entry["hosts"].append(host["name"])
    ranked = sorted(by_id.values(), key=lambda e: (-core.SEVERITY_WEIGHTS[e["severity"]], -len(e["hosts"]), e["id"]))
    return ranked[:limit]


def _failed_at(hosts, threshold):
    if not threshold:
        return []
    return sorted(set("%s %s" % (h["name"], c["id"]) for h in hosts for c in h["controls"]
                      if c["status"] in core.FAILING and core.severity_at_least(c["severity"], threshold)))


# A host the audit could not read proves nothing: never a clean exit.
NOT_AUDITED = ("unreachable", "untrusted host key")


def exit_code(report, fail_on):
    """0 clean; 1 a control at or above fail_on failed; 2 the inventory could not be used;
    3 a host could not be audited (unreachable, or its host key is not trusted), whatever
    fail_on says."""
    if report.get("inventory_error"):
        return 2
    if any(h["status"] in NOT_AUDITED for h in report["hosts"]):
        return 3
    if fail_on and report["summary"]["failed_at_threshold"]:
        return 1
    return 0


def verify(report):
    """True when the report's digest matches its content."""
    return (report.get("integrity") or {}).get("digest") == core.content_digest(report)


# -- comparing ---------------------------------------------------------------------------------

def compare(before, after):
    """Before/after of two reports: per host and control fixed, regressed, unchanged, changed,
    new, removed; score and exposure of each host before and after."""
    old = dict(((h["name"], c["id"]), (h, c)) for h in before["hosts"] for c in h["controls"])
    new = dict(((h["name"], c["id"]), (h, c)) for h in after["hosts"] for c in h["controls"])
    rows = {"fixed": [], "regressed": [], "changed": [], "unchanged": [], "new": [], "removed": []}
    for key in sorted(set(old) | set(new)):
        was = old.get(key, (None, None))[1]
        now = new.get(key, (None, None))[1]
        row = {"host": key[0], "id": key[1], "title": (now or was)["title"], "severity": (now or was)["severity"],
               "before": was["status"] if was else None, "after": now["status"] if now else None}
        if was is None:
            kind = "new"
        elif now is None:
            kind = "removed"
        elif was["status"] == now["status"]:
            kind = "unchanged"
        elif was["status"] in core.FAILING and now["status"] == "pass":
            kind = "fixed"
        elif was["status"] == "pass" and now["status"] in core.FAILING:
            kind = "regressed"
        else:
            kind = "changed"
        rows[kind].append(row)
    hosts = []
    for name in sorted(set(h["name"] for h in before["hosts"]) | set(h["name"] for h in after["hosts"])):
        b = next((h for h in before["hosts"] if h["name"] == name), None)
        a = next((h for h in after["hosts"] if h["name"] == name), None)
        hosts.append({"name": name,
                      "score_before": b["score"]["percent"] if b else None,
                      "score_after": a["score"]["percent"] if a else None,
                      "exposure_before": _exposure_text(b["exposure"]) if b else "-",
                      "exposure_after": _exposure_text(a["exposure"]) if a else "-"})
    return {"before": {"generated": before.get("generated"), "digest": before.get("integrity", {}).get("digest")},
            "after": {"generated": after.get("generated"), "digest": after.get("integrity", {}).get("digest")},
            "counts": dict((k, len(v)) for k, v in rows.items()), "hosts": hosts, "controls": rows}


# -- rendering ---------------------------------------------------------------------------------

def fix_text(remediation, variable=True):
    """How a failing control is fixed, in words: the role, tag (and variable) that fix it, or
    what to do by hand where no role changes what the control finds."""
    if remediation.get("manual"):
        return "by hand: " + remediation["manual"]
    text = "role %s, tag %s" % (remediation.get("role") or "-", remediation.get("tag") or "-")
    if variable and remediation.get("variable"):
        text += ", variable " + remediation["variable"]
    return text


def _exposure_text(exposure):
    if not exposure:
        return "not assessed"
    if exposure["unlimited"]:
        return "unlimited"
    return "%s %s per day" % (exposure.get("currency", "EUR"), _money(exposure["per_day"]))


def _money(value):
    return "{:,.2f}".format(value)


def _score_text(score):
    return "not assessed" if score["percent"] is None else "%d / 100" % score["percent"]


def render_json(report):
    return json.dumps(report, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d2330;
margin:2rem auto;max-width:64rem;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:2px solid #d8dde6;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1.05rem;margin:1.4rem 0 .4rem}.meta{color:#5a6475;font-size:.85rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}
.card{flex:1 1 12rem;border:1px solid #d8dde6;border-radius:.5rem;padding:.8rem 1rem;background:#f7f9fc}
.card .big{font-size:1.7rem;font-weight:700}.bad{color:#b3261e}.good{color:#1e7b34}.warn{color:#8a5a00}
table{border-collapse:collapse;width:100%;font-size:.88rem;margin:.4rem 0}
th,td{border:1px solid #d8dde6;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#eef1f6}.st{font-weight:700;white-space:nowrap}
.st-fail,.st-error{color:#b3261e}.st-pass{color:#1e7b34}.st-waived{color:#8a5a00}.st-not_applicable{color:#5a6475}
.sev{text-transform:uppercase;font-size:.75rem;font-weight:700}
.sev-critical{color:#fff;background:#b3261e;padding:0 .3rem;border-radius:.2rem}
.sev-high{color:#b3261e}.sev-medium{color:#8a5a00}.sev-low{color:#5a6475}
.evidence{font-size:.8rem;color:#39414f;margin-top:.2rem}
pre{white-space:pre-wrap;word-break:break-all;background:#f3f4f7;padding:.3rem;margin:.2rem 0;font-size:.8rem}
ol.top li{margin:.35rem 0}.fix{color:#5a6475;font-size:.85rem}
.host{page-break-before:always}.digest{font-family:monospace;font-size:.8rem;word-break:break-all}
@media print{body{margin:0;max-width:none;font-size:10pt}.card{break-inside:avoid}tr{break-inside:avoid}
a{color:inherit;text-decoration:none}h2{break-after:avoid}}
"""


def _e(text):
    return html.escape("" if text is None else str(text))


def render_html(report):
    s = report["summary"]
    score = s["score"]
    exposure = s["exposure"]
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
             "<title>voipguard audit report</title><style>%s</style></head><body>" % _CSS,
             "<h1>VoIP security audit</h1>",
             "<p class=\"meta\">Generated %s by %s with voipguard %s &middot; inventory %s</p>" % (
                 _e(report["generated"]), _e(report["run_by"]), _e(report["toolkit_version"]), _e(report["inventory"]))]
    parts.append("<section id=\"summary\"><h2>Summary</h2>")
    if report.get("inventory_error"):
        parts.append("<p class=\"bad\"><strong>The inventory could not be used:</strong> %s</p>"
                     % _e(report["inventory_error"]))
    score_class = "bad" if (score["percent"] or 0) < 60 else "warn" if score["percent"] < 90 else "good"
    exposure_class = "bad" if not exposure or exposure["unlimited"] else "good"
    parts.append("<div class=\"cards\">")
    parts.append("<div class=\"card\"><div>Hardening score</div><div class=\"big %s\">%s</div>"
                 "<div class=\"meta\">%d of %d points (critical 10, high 5, medium 3, low 1)</div></div>"
                 % (score_class, _e(_score_text(score)), score["earned"], score["possible"]))
    parts.append("<div class=\"card\"><div>Worst-case toll-fraud cost</div><div class=\"big %s\">%s</div>"
                 "<div class=\"meta\">what a break-in could put on the phone bill in one day</div></div>"
                 % (exposure_class, _e(_exposure_text(exposure))))
    counts = score["counts"]
    parts.append("<div class=\"card\"><div>Checks</div><div class=\"big\">%d failed</div>"
                 "<div class=\"meta\">%d passed, %d waived, %d not applicable, %d errors; %d host(s)</div></div>"
                 % (counts.get("fail", 0), counts.get("pass", 0), counts.get("waived", 0),
                    counts.get("not_applicable", 0), counts.get("error", 0), s["hosts"]))
    parts.append("</div>")
    parts.append(_plain_words(report))
    parts.append(_fleet_table(report))
    parts.append("</section>")
    for host in report["hosts"]:
        parts.append(_host_section(host))
    parts.append("<section class=\"host\"><h2>How the figures are computed</h2>")
    parts.append("<p><strong>Score</strong>: like Lynis' hardening index, points earned / points possible. "
                 "A passed control earns its weight (critical 10, high 5, medium 3, low 1); a failed "
                 "control or one that could not be checked earns nothing; waived and not applicable "
                 "controls are left out.</p>")
    parts.append("<p><strong>Worst-case cost per day</strong>: %s</p>" % _e(report["exposure_formula"]))
    parts.append("<p><strong>Integrity</strong>: SHA-256 of the JSON report's canonical content "
                 "(<code>python -m audit verify report.json</code>):<br><span class=\"digest\">%s</span></p>"
                 % _e(report["integrity"]["digest"]))
    parts.append("</section></body></html>\n")
    return "".join(parts)


def _plain_words(report):
    s = report["summary"]
    exposure = s["exposure"]
    out = ["<div id=\"plain\">"]
    if exposure and exposure["unlimited"]:
        out.append("<p><strong>Nothing limits what a break-in can cost.</strong> No spend cap, country block "
                   "or call limit stands between an intruder and your trunk. For scale: in the case this "
                   "toolkit was built for, intruders placed 150 calls to Zimbabwe and Somalia in one month "
                   "and the owner had to pay EUR 1,028 instead of the usual EUR 33.50.</p>")
    elif exposure:
        out.append("<p>Even if an intruder gets in, the configuration caps the damage at about "
                   "<strong>%s</strong>.</p>" % _e(_exposure_text(exposure)))
    top = s["top_failures"]
    if top:
        out.append("<p>What to fix first:</p><ol class=\"top\">")
        for entry in top:
            fix = entry["remediation"]
            out.append("<li><span class=\"sev sev-%s\">%s</span> %s <span class=\"fix\">(%s on %d host(s); "
                       "fix: %s)</span></li>" % (
                           _e(entry["severity"]), _e(entry["severity"]), _e(entry["impact"]), _e(entry["id"]),
                           len(entry["hosts"]), _e(fix_text(fix, variable=False))))
        out.append("</ol>")
    elif s["hosts"]:
        out.append("<p class=\"good\">No control failed.</p>")
    out.append("</div>")
    return "".join(out)


def _fleet_table(report):
    rows = ["<h3>Hosts, worst first</h3><table><tr><th>host</th><th>status</th><th>score</th>"
            "<th>worst-case cost</th><th>failed</th><th>SSH host key</th></tr>"]
    for host in report["hosts"]:
        key = (host["info"].get("ssh_host_key") or {}).get("fingerprint") or "-"
        rows.append("<tr><td><a href=\"#host-%s\">%s</a></td><td>%s</td><td>%s</td><td>%s</td><td>%d</td>"
                    "<td class=\"digest\">%s</td></tr>" % (
                        _e(host["name"]), _e(host["name"]), _e(host["status"]), _e(_score_text(host["score"])),
                        _e(_exposure_text(host["exposure"])),
                        host["score"]["counts"].get("fail", 0) + host["score"]["counts"].get("error", 0), _e(key)))
    rows.append("</table>")
    return "".join(rows)


def _host_section(host):
    info = host["info"]
    key = info.get("ssh_host_key") or {}
    out = ["<section class=\"host\" id=\"host-%s\"><h2>%s (%s)</h2>" % (_e(host["name"]), _e(host["name"]),
                                                                         _e(host["address"]))]
    out.append("<p>Status: <strong>%s</strong>%s &middot; score %s &middot; worst-case cost %s</p>" % (
        _e(host["status"]), (" &mdash; " + _e(host["status_reason"])) if host["status_reason"] else "",
        _e(_score_text(host["score"])), _e(_exposure_text(host["exposure"]))))
    out.append("<table><tr><th>SSH host key</th><td class=\"digest\">%s %s (known_hosts: %s)</td></tr>"
               "<tr><th>system</th><td>%s</td></tr><tr><th>Asterisk</th><td>%s</td></tr>"
               "<tr><th>distribution</th><td>%s</td></tr></table>" % (
                   _e((key.get("connection") or key.get("file") or {}).get("type", "")), _e(key.get("fingerprint") or "-"),
                   _e(key.get("known_hosts", "not checked")), _e(info.get("os") or "-"),
                   _e(info.get("asterisk_version") or "-"), _e(info.get("distribution") or "-")))
    exposure = host["exposure"]
    if exposure:
        if exposure["unlimited"]:
            out.append("<p>Why the cost is unlimited:</p><ul>%s</ul>" % "".join(
                "<li>%s</li>" % _e(r) for r in exposure["reasons"]))
        else:
            out.append("<p>Limits (the smallest one bounds the cost):</p><table><tr><th>limit</th><th>%s per day</th></tr>%s</table>"
                       % (_e(exposure["currency"]), "".join("<tr><td>%s</td><td>%s</td></tr>" % (
                           _e(t["limit"]), _e(_money(t["value"]))) for t in exposure["terms"])))
    journal = info.get("journal") or []
    if journal:
        out.append("<h3>Hardening journal (latest %d runs)</h3><table><tr><th>time</th><th>by</th><th>version</th>"
                   "<th>tags</th><th>changed</th></tr>" % len(journal))
        for entry in reversed(journal):
            changed = entry.get("changed") or []
            out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
                _e(entry.get("time")), _e(entry.get("user")), _e(entry.get("toolkit_version")),
                _e(",".join(entry.get("tags") or []) or "all"),
                _e("; ".join(changed[:12]) + (" (+%d more)" % (len(changed) - 12) if len(changed) > 12 else ""))))
        out.append("</table>")
    out.append("<h3>Controls</h3><table><tr><th>result</th><th>control</th><th>what was seen</th></tr>")
    for control in host["controls"]:
        fix = control.get("remediation") or {}
        evidence = "".join(_evidence_item(item) for item in control.get("evidence") or [])
        out.append(
            "<tr><td class=\"st st-%s\">%s</td><td><span class=\"sev sev-%s\">%s</span> <strong>%s</strong> %s"
            "<div class=\"fix\">%s<br>Fix: %s%s</div></td><td>%s%s</td></tr>" % (
                _e(control["status"]), _e(_STATUS_TEXT.get(control["status"], control["status"])),
                _e(control["severity"]), _e(control["severity"]), _e(control["id"]), _e(control["title"]),
                _e(control["rationale"]), _e(fix_text(fix)),
                ("<br>References: " + _e("; ".join(control.get("references") or []))) if control.get("references") else "",
                ("<div>%s</div>" % _e(control["message"])) if control.get("message") else "",
                ("<div class=\"evidence\">%s</div>" % evidence)
                if evidence else ""))
    out.append("</table></section>")
    return "".join(out)


def _evidence_item(item):
    if item.get("command"):
        head = "<code>%s</code>" % _e(item["command"])
    else:
        head = "<code>%s</code>" % _e(item.get("file") or "")
    if "key" in item:
        head += " %s = <strong>%s</strong>" % (_e(item["key"]), _e(item.get("value")))
    output = "<pre>%s</pre>" % _e(item["output"]) if item.get("output") else ""
    return "<div>%s%s</div>" % (head, output)


def render_junit(report):
    suites = ET.Element("testsuites", name="voipguard audit", tests="0", failures="0", errors="0", skipped="0")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for host in report["hosts"]:
        suite = ET.SubElement(suites, "testsuite", name=host["name"] or "", hostname=str(host["address"]),
                              timestamp=report["audit_started"] or report["generated"])
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if host["status"] != "audited":
            case = ET.SubElement(suite, "testcase", classname=host["name"] or "", name="host reachable and auditable")
            ET.SubElement(case, "error", message="host %s: %s" % (host["status"], host["status_reason"]))
            counts["tests"] += 1
            counts["errors"] += 1
        for control in host["controls"]:
            case = ET.SubElement(suite, "testcase", classname="%s.%s" % (host["name"], control.get("area", "")),
                                 name="%s %s" % (control["id"], control["title"]),
                                 time=str(control.get("duration") or 0))
            counts["tests"] += 1
            status = control["status"]
            if status == "fail":
                counts["failures"] += 1
                node = ET.SubElement(case, "failure", message=control.get("message") or "",
                                     type=control["severity"])
                node.text = "\n".join(_evidence_line(i) for i in control.get("evidence") or [])
            elif status == "error":
                counts["errors"] += 1
                ET.SubElement(case, "error", message=control.get("message") or "", type=control["severity"])
            elif status in ("waived", "not_applicable"):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message="%s: %s" % (status, control.get("message") or ""))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _evidence_line(item):
    text = item.get("command") or item.get("file") or ""
    if "key" in item:
        text += " %s = %s" % (item["key"], item.get("value"))
    if item.get("output"):
        text += "\n  " + item["output"].replace("\n", "\n  ")
    return text


def render_comparison_html(comparison):
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>voipguard audit: before / after"
             "</title><style>%s</style></head><body><h1>Before / after</h1>" % _CSS]
    parts.append("<p class=\"meta\">before: %s (%s)<br>after: %s (%s)</p>" % (
        _e(comparison["before"]["generated"]), _e(comparison["before"]["digest"]),
        _e(comparison["after"]["generated"]), _e(comparison["after"]["digest"])))
    c = comparison["counts"]
    parts.append("<div class=\"cards\"><div class=\"card\"><div>fixed</div><div class=\"big good\">%d</div></div>"
                 "<div class=\"card\"><div>regressed</div><div class=\"big bad\">%d</div></div>"
                 "<div class=\"card\"><div>unchanged</div><div class=\"big\">%d</div></div></div>"
                 % (c["fixed"], c["regressed"], c["unchanged"]))
    parts.append("<table><tr><th>host</th><th>score before</th><th>score after</th><th>cost before</th>"
                 "<th>cost after</th></tr>")
    for host in comparison["hosts"]:
        parts.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % tuple(
            _e(v) for v in (host["name"], host["score_before"], host["score_after"],
                            host["exposure_before"], host["exposure_after"])))
    parts.append("</table>")
    for kind in ("regressed", "fixed", "changed", "new", "removed", "unchanged"):
        rows = comparison["controls"][kind]
        if not rows:
            continue
        parts.append("<h2>%s (%d)</h2><table><tr><th>host</th><th>control</th><th>before</th><th>after</th></tr>"
                     % (_e(kind), len(rows)))
        for row in rows:
            parts.append("<tr><td>%s</td><td><span class=\"sev sev-%s\">%s</span> %s %s</td><td>%s</td><td>%s</td></tr>"
                         % (_e(row["host"]), _e(row["severity"]), _e(row["severity"]), _e(row["id"]),
                            _e(row["title"]), _e(row["before"]), _e(row["after"])))
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_outputs(report, out_dir, prefix="report"):
    """report.json, report.html, junit.xml and SHA256SUMS (digests of the three) in out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    files = {prefix + ".json": render_json(report), prefix + ".html": render_html(report),
             "junit.xml": render_junit(report)}
    sums = []
    for name, text in files.items():
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as handle:
            handle.write(text)
        sums.append("%s  %s" % (hashlib.sha256(text.encode("utf-8")).hexdigest(), name))
    with open(os.path.join(out_dir, "SHA256SUMS"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(sums) + "\n")
    return [os.path.join(out_dir, name) for name in list(files) + ["SHA256SUMS"]]


def validate(report):
    """Validate a report against audit/report.schema.json (raises jsonschema.ValidationError)."""
    import jsonschema  # pylint: disable=import-outside-toplevel
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        schema = json.load(handle)
    jsonschema.validate(report, schema, format_checker=jsonschema.FormatChecker())

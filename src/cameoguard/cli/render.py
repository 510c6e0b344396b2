"""Rendering of verification reports for people (rich) and machines (JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from cameoguard.provenance.report import IngredientNode, ProvenanceReport, ProvenanceState

__all__ = ["render_report", "reports_json"]

_STYLE = {
    ProvenanceState.TRUSTED: ("green", "TRUSTED"),
    ProvenanceState.VALID: ("yellow", "VALID, UNTRUSTED SIGNER"),
    ProvenanceState.INVALID: ("red", "INVALID"),
    ProvenanceState.ABSENT: ("blue", "NO MANIFEST"),
}


def reports_json(items: list[dict[str, Any]]) -> str:
    return json.dumps(items, indent=2, sort_keys=False, default=str)


def _ingredient_tree(tree: Tree, nodes: list[IngredientNode]) -> None:
    for node in nodes:
        colour, _ = _STYLE[node.state]
        label = Text.assemble(
            (node.title or "untitled", "bold"),
            f"  {node.relationship or '?'}  ",
            (node.state.value, colour),
        )
        if node.ai_generated:
            label.append("  AI-generated", style="magenta")
        if node.claim_generator:
            label.append(f"  by {node.claim_generator}", style="dim")
        branch = tree.add(label)
        for failure in node.failures:
            branch.add(Text(f"{failure.code}: {failure.meaning}", style="red"))
        _ingredient_tree(branch, node.children)


def render_report(console: Console, report: ProvenanceReport) -> None:
    colour, verdict = _STYLE[report.state]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    add = table.add_row

    def row(name: str, value: str | Text) -> None:
        # File contents (titles, names, codes) are never parsed as rich markup.
        add(name, value if isinstance(value, Text) else Text(value))

    row("Verdict", Text(verdict, style=f"bold {colour}"))
    row("Summary", report.summary)
    if report.state is not ProvenanceState.ABSENT:
        if report.ai_generated:
            what = Text(f"AI-generated ({report.ai_source_type})", style="magenta")
        else:
            terms = sorted({a.digital_source_type for a in report.actions if a.digital_source_type})
            what = Text("not declared AI-generated" + (f" ({', '.join(terms)})" if terms else ""))
        row("What", what)
        if report.title:
            row("Title", report.title)
        if report.claim_generator:
            row("Made with", report.claim_generator)
        if report.signer is not None:
            s = report.signer
            row(
                "Signed by",
                f"{s.common_name or '?'} — {s.organization or 'no organisation'} "
                f"({s.algorithm or '?'})",
            )
            if s.chain:
                chain = " → ".join(c.common_name or c.subject for c in s.chain)
                leaf = s.chain[0]
                row(
                    "Chain",
                    f"{chain} (leaf valid {leaf.not_before:%Y-%m-%d} to {leaf.not_after:%Y-%m-%d})",
                )
        when = f"{report.signing_time:%Y-%m-%d %H:%M:%S %Z}" if report.signing_time else "unknown"
        row("Signed at", f"{when} (time-stamp: {report.timestamp_status})")
        intact = not report.integrity_failures
        row(
            "Intact",
            Text("yes", style="green")
            if intact
            else Text("NO: " + "; ".join(e.meaning for e in report.integrity_failures), "red"),
        )
        signer_trusted = any(e.code == "signingCredential.trusted" for e in report.successes)
        if report.state is ProvenanceState.TRUSTED:
            row("Trusted", Text("yes", style="green"))
        elif signer_trusted:
            row("Trusted", Text("the signer is trusted, but the file is not intact", "yellow"))
        else:
            why_not = "; ".join(e.meaning for e in report.trust_failures) or "not evaluated"
            row("Trusted", Text(f"no: {why_not}", "yellow"))
        if report.actions:
            row(
                "Actions",
                ", ".join(
                    a.action + (f" [{a.software_agent}]" if a.software_agent else "")
                    for a in report.actions
                ),
            )
        if report.custom_assertions:
            row("Assertions", ", ".join(a.label for a in report.custom_assertions))
        if report.remote_manifest_url:
            row("Remote manifest", f"{report.remote_manifest_url} (not fetched)")
        if report.informational:
            row(
                "Notes",
                "; ".join(f"{e.code}: {e.meaning}" for e in report.informational),
            )
    parts: list[Any] = [table]
    if report.ingredients:
        tree = Tree("Ingredients")
        _ingredient_tree(tree, report.ingredients)
        parts.append(tree)
    title = f"{escape(report.path)}  [dim]({escape(report.media_type)})[/dim]"
    console.print(Panel(Group(*parts), title=title, title_align="left", border_style=colour))

"""mkdocs hook: the command reference page (reference.md), generated from genrefuse's argparse definitions
each time the site is built, so that it lists every command and option as `genrefuse --help` does."""
from __future__ import annotations

import argparse


def _commands(parser: argparse.ArgumentParser, prefix: str):
    """(full command name, its help, its parser) for every command and sub-command, in the CLI's order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", helps.get(name) or "", sub
                yield from _commands(sub, f"{prefix} {name}")


def _options(parser: argparse.ArgumentParser):
    formatter = parser._get_formatter()
    for a in parser._actions:
        if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction, argparse._VersionAction)):
            continue
        if a.option_strings:
            metavar = "" if a.nargs == 0 else " " + formatter._format_args(a, a.dest.upper())
            name = ", ".join(f"`{o}{metavar}`" for o in a.option_strings)
        else:
            name = f"`{formatter._format_args(a, a.dest)}`"
        text = _html_safe(formatter._expand_help(a)) if a.help else ""
        if a.choices and not isinstance(a.choices, dict):
            text += f" (one of: {', '.join(map(str, a.choices))})"
        yield name, text


def _html_safe(text: str) -> str:
    """Help texts name placeholders like <genre>, which Markdown would take for HTML tags."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def reference_markdown() -> str:
    from genrefuse.cli.main import build_parser

    parser = build_parser()
    lines = ["# Command reference", "",
             "Generated from the command line's own definitions when this site is built (`docs/hooks.py`): "
             "every command and option, as `genrefuse COMMAND --help` gives them.", "",
             "Options of every command: " + "; ".join(f"{n}: {t}" for n, t in _options(parser)) + ".", ""]
    for name, help_text, sub in _commands(parser, "genrefuse"):
        usage = sub.format_usage().replace("usage: ", "").strip()
        help_text = _html_safe(help_text)
        lines += [f"## {name}", "", help_text[:1].upper() + help_text[1:] + ("." if help_text and not help_text.endswith(".") else ""),
                  "", "```", usage, "```", ""]
        lines += [f"- {n}: {t}" if t else f"- {n}" for n, t in _options(sub)]
        lines.append("")
    return "\n".join(lines)


def on_page_read_source(page, config):
    if page.file.src_uri == "reference.md":
        return reference_markdown()
    return None

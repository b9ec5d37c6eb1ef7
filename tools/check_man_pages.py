#!/usr/bin/python3
"""check_man_pages.py -- the man pages render cleanly, and document exactly the flags --help prints.

render: each built page (build/man/NAME.N) must render with `man --warnings -l` and with
  `groff -man -t -ww -z` without a single warning, fit in 80 columns, have the sections a man
  page has (NAME, SYNOPSIS for commands, DESCRIPTION, SEE ALSO), and give lexgrog (which makes
  the whatis entry `man -k` reads) a NAME line for the page's own name.

flags: for each program, the set of flags its --help prints (every --long and -s word in it) and
  the set its page documents must be equal, and so must the commands (rrdnsctl) or modes
  (rrdns-verify) that --help lists under "commands:" or "modes:". What a page documents is read
  from its Markdown source (docs/man/NAME.N.md): the terms of the option lists in its OPTIONS,
  COMMANDS and MODES sections, i.e. the first line of each top-level item written as
      - `--threads` *N*\\
  (the term, then a backslash for the line break; docs/man/deflist.lua makes these .TP entries).
  A flag that appears only in the prose does not count as documented. Then every command line of
  the four programs that any page shows (in a code block or an inline code span) may only use
  flags its --help lists, and rrdnsctl and rrdns-verify lines must name a command or mode that
  exists, so no example teaches a flag that is not there.

--self-test (the negative control): runs the flags check on altered copies of each page (one
  option's entry removed; an entry for a flag the program lacks added; one command removed; an
  example using a flag the program lacks added) and on a page with a bad macro for the render
  check, and passes only if every alteration is caught and named.

Usage: check_man_pages.py render PAGE_FILE...
       check_man_pages.py flags --pages DIR PROGRAM=BINARY... [--self-test]
Exit status: 0 clean, 1 problems found (listed on stderr), 2 the check itself could not run.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

WIDTH = 80
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])")
TERM = re.compile(r"^- (.*)\\$")
HEADING = re.compile(r"^# (.+?)\s*$")
LIST_SECTION = re.compile(r"\b(OPTIONS|COMMANDS|MODES)\b")
COMMAND_SECTION = re.compile(r"\b(COMMANDS|MODES)\b")
HELP_COMMANDS = re.compile(r"^(commands|modes):\s*$")
HELP_COMMAND = re.compile(r"^  ([a-z][a-z-]*)(\s|$)")

# The page of each program.
PAGES = {
    "rrdnsd": "rrdnsd.8.md",
    "rrdnsctl": "rrdnsctl.8.md",
    "rrdns-verify": "rrdns-verify.1.md",
    "rrdns-replica": "rrdns-replica.1.md",
}


class CheckError(Exception):
    pass


# ------------------------------------------------------------------------------------------
# render

def run(command, **kwargs):
    env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH=str(WIDTH), LC_ALL="C.UTF-8")
    env.pop("MANROFFOPT", None)
    try:
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60,
                              **kwargs)
    except FileNotFoundError as e:
        raise CheckError(f"cannot run {command[0]}: {e} (apt-get install man-db groff-base)")


def render_problems(path):
    problems = []
    name = os.path.basename(path)
    page_name, section = name.rsplit(".", 1)

    man = run(["man", "--warnings", "-l", path])
    if man.returncode != 0 or man.stderr.strip():
        problems.append(f"{name}: man --warnings -l (exit {man.returncode}):\n{man.stderr.rstrip()}")
    groff = run(["groff", "-man", "-t", "-ww", "-z", path])
    if groff.returncode != 0 or groff.stderr.strip():
        problems.append(f"{name}: groff -man -t -ww -z (exit {groff.returncode}):\n"
                        f"{groff.stderr.rstrip()}")

    text = man.stdout
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > WIDTH:
            problems.append(f"{name}: rendered line {number} is {len(line)} columns wide "
                            f"(at most {WIDTH}): {line.strip()[:60]}...")
    headings = set(re.findall(r"^([A-Z][A-Z0-9 ]*[A-Z0-9])$", text, re.M))
    wanted = ["NAME", "DESCRIPTION", "SEE ALSO"]
    if section in ("1", "8"):
        wanted.insert(1, "SYNOPSIS")
    for heading in wanted:
        if heading not in headings:
            problems.append(f"{name}: no {heading} section in the rendered page")

    lexgrog = run(["lexgrog", path])
    whatis = re.search(r': "(\S+) - .+"$', lexgrog.stdout.strip())
    if lexgrog.returncode != 0 or not whatis:
        problems.append(f"{name}: lexgrog finds no NAME line (exit {lexgrog.returncode}): "
                        f"{(lexgrog.stdout + lexgrog.stderr).strip()}")
    elif whatis.group(1) != page_name:
        problems.append(f"{name}: lexgrog reads the name '{whatis.group(1)}', not '{page_name}'")
    return problems


def render_self_test():
    with tempfile.TemporaryDirectory() as directory:
        bad = os.path.join(directory, "broken.1")
        with open(bad, "w") as f:
            f.write('.TH BROKEN 1\n.SH NAME\nbroken \\- a page with a bad macro\n.SH SYNOPSIS\n'
                    'broken\n.SH DESCRIPTION\n.NOSUCHMACRO\ntext\n.SH SEE ALSO\nnothing\n')
        problems = render_problems(bad)
    if not any("NOSUCHMACRO" in p for p in problems):
        return ["render self-test: a page with an undefined macro was not reported"]
    return []


# ------------------------------------------------------------------------------------------
# flags

def page_items(text):
    """(flags, commands) that the page's OPTIONS/COMMANDS/MODES lists document."""
    flags, commands = set(), set()
    section = ""
    for line in text.splitlines():
        heading = HEADING.match(line)
        if heading:
            section = heading.group(1).upper()
            continue
        term = TERM.match(line)
        if not term or not LIST_SECTION.search(section):
            continue
        flags.update(FLAG.findall(term.group(1)))
        if COMMAND_SECTION.search(section):
            word = re.match(r"[`*\\]*([a-z][a-z-]*)", term.group(1))
            if word and not word.group(1).startswith("-"):
                commands.add(word.group(1))
    return flags, commands


def help_items(text):
    """(flags, commands) that a --help text shows."""
    flags = set(FLAG.findall(text))
    commands = set()
    in_commands = False
    for line in text.splitlines():
        if HELP_COMMANDS.match(line):
            in_commands = True
        elif not line.strip():
            in_commands = False
        elif in_commands:
            command = HELP_COMMAND.match(line)
            if command:
                commands.add(command.group(1))
    return flags, commands


def program_help(program, binary):
    try:
        result = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    except OSError as e:
        raise CheckError(f"{program}: cannot run {binary}: {e}")
    if result.returncode != 0 or not result.stdout.strip():
        raise CheckError(f"{program} --help: exit {result.returncode}, stdout {result.stdout!r}, "
                         f"stderr {result.stderr!r} (expected the help on stdout, exit 0)")
    return result.stdout


def compare(program, page, help_text, page_text):
    problems = []
    help_flags, help_commands = help_items(help_text)
    page_flags, page_commands = page_items(page_text)
    for flag in sorted(help_flags - page_flags):
        problems.append(f"{program}: {flag} is in `{program} --help` but not documented in {page}")
    for flag in sorted(page_flags - help_flags):
        problems.append(f"{program}: {flag} is documented in {page} but not in `{program} --help`")
    for command in sorted(help_commands - page_commands):
        problems.append(f"{program}: command {command} is in `{program} --help` but not "
                        f"documented in {page}")
    for command in sorted(page_commands - help_commands):
        problems.append(f"{program}: command {command} is documented in {page} but not in "
                        f"`{program} --help`")
    if not help_flags or not page_flags:
        problems.append(f"{program}: no flags found in --help ({len(help_flags)}) or in {page} "
                        f"({len(page_flags)}): is the parsing still right?")
    return problems


def command_lines(text):
    """(line number, command text, in a code block) of the page's code: indented code blocks
    (with backslash continuations joined) and inline code spans."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("    ") and not line.lstrip().startswith("- "):
            start, joined = i + 1, line.strip()
            while joined.endswith("\\") and i + 1 < len(lines):
                i += 1
                joined = joined[:-1] + " " + lines[i].strip()
            out.append((start, joined, True))
        else:
            out += [(i + 1, span, False) for span in re.findall(r"`([^`]+)`", line)]
        i += 1
    return out


def invocations(command):
    """(program, words) for each of the four programs a shell command line runs."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: not a shell command (a log line, a TOML value)
        return []
    out, current = [], None
    for token in tokens:
        if token and set(token) <= set("|&;()<>"):
            current = None
        elif current is not None:
            current[1].append(token)
        elif token in PAGES:
            current = (token, [])
            out.append(current)
    return out


def example_problems(page, text, helps):
    """Flags, commands and modes the page's command lines use that --help does not list."""
    problems = []
    for number, command, block in command_lines(text):
        for program, words in invocations(command):
            if program not in helps:
                continue
            flags, commands = help_items(helps[program])
            for word in words:
                if word.startswith("-") and word != "-" and not re.match(r"-[\d.]", word):
                    flag = word.split("=", 1)[0]
                    if flag not in flags:
                        problems.append(f"{page}:{number}: `{command}` uses {flag}, which "
                                        f"`{program} --help` does not list")
            # A code block's command line names its command or mode (an inline span may show
            # just a fragment, such as `rrdnsctl VERSION`).
            positional = [w for w in words if not w.startswith("-")]
            if commands and block and not {"-h", "--help", "--version"} & set(words):
                if program == "rrdns-verify" and words[0] not in commands:
                    problems.append(f"{page}:{number}: `{command}`: rrdns-verify's mode comes "
                                    f"first, one of {', '.join(sorted(commands))}")
                elif program == "rrdnsctl" and not set(positional) & commands:
                    problems.append(f"{page}:{number}: `{command}` names no rrdnsctl command "
                                    f"that --help lists")
    return problems


def without_term(text, item):
    """The page with every entry (term line) that documents `item` taken out."""
    kept, removed = [], 0
    for line in text.splitlines(keepends=True):
        term = TERM.match(line.rstrip("\n"))
        if term and (item in FLAG.findall(term.group(1)) or
                     re.match(r"[`*\\]*" + re.escape(item) + r"(?![\w-])", term.group(1))):
            removed += 1
        else:
            kept.append(line)
    if not removed:
        raise CheckError(f"self-test: no entry for {item} to remove")
    return "".join(kept)


def with_extra_flag(text, flag):
    """The page with an entry for `flag` added at the top of its OPTIONS section."""
    match = re.search(r"^# OPTIONS\s*\n", text, re.M)
    if not match:
        raise CheckError("self-test: the page has no '# OPTIONS' section")
    entry = f"\n- `{flag}`\\\n  A flag the program does not have.\n"
    return text[:match.end()] + entry + text[match.end():]


def flags_self_test(program, page, help_text, page_text):
    """Problems if an altered page is not caught, naming what was altered."""
    failures = []
    before = set(compare(program, page, help_text, page_text))
    page_flags, page_commands = page_items(page_text)
    help_flags, _ = help_items(help_text)
    removable = sorted(page_flags & help_flags, key=lambda f: (not f.startswith("--"), f))
    cases = []
    if removable:
        flag = removable[0]
        cases.append((f"{page} without the entry for {flag}", without_term(page_text, flag), flag))
    cases.append((f"{page} with an entry for --no-such-flag",
                  with_extra_flag(page_text, "--no-such-flag"), "--no-such-flag"))
    if page_commands:
        command = sorted(page_commands)[0]
        cases.append((f"{page} without the entry for the command {command}",
                      without_term(page_text, command), f"command {command} "))
    for description, altered, named in cases:
        new = set(compare(program, page, help_text, altered)) - before
        if not any(named in problem for problem in new):
            failures.append(f"{program}: self-test: {description} was not reported "
                            f"(new problems: {sorted(new)})")
        else:
            print(f"self-test ok: {description} is reported")
    return failures


def examples_self_test(page, text, helps):
    """Problems unless a command line with a made-up flag, and one with a made-up command or
    mode, added to the page's code are reported."""
    failures = []
    before = set(example_problems(page, text, helps))
    cases = [(f"{program} --no-such-example-flag", "--no-such-example-flag") for program in helps]
    if "rrdnsctl" in helps:
        cases.append(("rrdnsctl frobnicate", "names no rrdnsctl command"))
    if "rrdns-verify" in helps:
        cases.append(("rrdns-verify spin --server 127.0.0.1:53 x", "mode comes first"))
    for line, named in cases:
        altered = text.rstrip("\n") + "\n\n    " + line + "\n"
        new = set(example_problems(page, altered, helps)) - before
        if not any(named in problem for problem in new):
            failures.append(f"{page}: self-test: an example `{line}` was not reported "
                            f"(new problems: {sorted(new)})")
    if not failures:
        print(f"self-test ok: made-up flags, commands and modes in {page}'s examples are reported")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="check", required=True)
    render = sub.add_parser("render")
    render.add_argument("files", nargs="*")
    render.add_argument("--self-test", action="store_true")
    flags = sub.add_parser("flags")
    flags.add_argument("--pages", required=True, help="docs/man")
    flags.add_argument("programs", nargs="+", metavar="PROGRAM=BINARY")
    flags.add_argument("--self-test", action="store_true")
    args = parser.parse_args()

    problems = []
    try:
        if args.check == "render":
            for path in args.files:
                problems += render_problems(path)
            if args.self_test:
                problems += render_self_test()
        else:
            helps = {}
            for item in args.programs:
                program, _, binary = item.partition("=")
                if program not in PAGES or not binary:
                    raise CheckError(f"expected PROGRAM=BINARY with PROGRAM one of "
                                     f"{', '.join(PAGES)}, not '{item}'")
                page = os.path.join(args.pages, PAGES[program])
                with open(page, encoding="utf-8") as f:
                    page_text = f.read()
                help_text = program_help(program, binary)
                helps[program] = help_text
                if args.self_test:
                    problems += flags_self_test(program, PAGES[program], help_text, page_text)
                else:
                    problems += compare(program, PAGES[program], help_text, page_text)
            for page in sorted(os.listdir(args.pages)):
                if not page.endswith(".md"):
                    continue
                with open(os.path.join(args.pages, page), encoding="utf-8") as f:
                    text = f.read()
                if args.self_test:
                    problems += examples_self_test(page, text, helps)
                else:
                    problems += example_problems(page, text, helps)
    except (CheckError, OSError) as e:
        print(f"check_man_pages.py: {e}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

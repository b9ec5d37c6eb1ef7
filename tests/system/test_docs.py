"""The documentation test: README.md and docs/*.md (not docs/man, which has its own test).

1. Every shell block runs against a demo started as `./tools/setup.sh run` starts it (replicas
   web11-web13 on 127.0.0.11-13, rrdnsd on rr.test, example.test and demo.test with a control
   socket, a state file and metrics), on free ports: 5353, 8080 and 9153 in a command become the
   test's ports. The tools on the PATH (and in build/) are wrappers that log each call's exit
   status; every call must exit 0, and a `$ command` shown in a text block must exit with the
   `(exit N)` printed under its output. A block that changes the demo gets a fresh one after it.
2. A block that cannot run against the demo is marked `<!-- test_docs: static (why) -->` on the
   line before it. An unmarked block may only use the commands in RUNNABLE, so nothing runs by
   accident (no apt-get, no daemon started in the background).
3. Every command of an rrdns binary in any code block or inline code span, run or not, may only
   name options and subcommands that the binary's --help lists. test_checker_bites feeds the
   checker made-up ones, so this cannot pass by checking nothing.
4. Every relative link resolves to a file, and every #anchor to a heading of that file; the
   index (docs/README.md) links every page.
5. The layout page names only paths that exist, and every dns/ module.

Only processes started here are stopped, by PID (a block runs in its own session, killed as a
group if it outlives its time limit).
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import (Daemon, Replica, free_port, free_tcp_port, rrdnsctl_path, rrdnsd_path,
                      replica_path, source_dir, stop_replicas, _die_with_parent)

SOURCE = source_dir()
BINARIES = ("rrdnsd", "rrdnsctl", "rrdns-verify", "rrdns-replica")
# Commands a block may use and still be run against the demo without a marker.
RUNNABLE = set(BINARIES) | {"dig", "kdig", "curl", "sleep", "echo", "head", "tail", "sort",
                            "uniq", "tr", "grep", "seq", "export", "jq", "wc", "cat", "true"}
SHELL_LANGS = {"sh", "bash", "shell"}
TEXT_LANGS = {"", "text", "console"}
STATIC_MARK = re.compile(r"^<!--\s*test_docs:\s*static\b.*-->\s*$")
# A block with one of these changes the demo's state: the next block gets a fresh demo.
MUTATES = re.compile(r"rrdnsctl\b.*\b(drain|undrain|weight|mark)\b|curl\b.*(\s-d\s|-X\s*POST)")
DEMO_PORTS = {"5353": "dns", "8080": "replica", "9153": "metrics"}
BLOCK_TIMEOUT = 60


def verify_path() -> Path:
    env = os.environ.get("RRDNS_VERIFY")
    return Path(env) if env else rrdnsd_path().parent / "rrdns-verify"


def real_binary(name: str) -> Path:
    return {"rrdnsd": rrdnsd_path(), "rrdnsctl": rrdnsctl_path(),
            "rrdns-verify": verify_path(), "rrdns-replica": replica_path()}[name]


# --------------------------------------------------------------------------------------------
# The pages and their code blocks

def pages():
    docs = sorted((SOURCE / "docs").glob("*.md"))
    return [SOURCE / "README.md"] + docs


class Block:
    def __init__(self, page, line, lang, lines, static):
        self.page, self.line, self.lang, self.lines, self.static = page, line, lang, lines, static

    @property
    def where(self):
        return "%s:%d" % (Path(self.page).relative_to(SOURCE) if Path(self.page).is_absolute()
                          and SOURCE in Path(self.page).parents else self.page, self.line)


def code_blocks(text: str, page="<text>"):
    """The fenced code blocks of a Markdown text, with their language and static marker."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(```+|~~~+)\s*([\w-]*)", lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        out.append(Block(page, start + 1, lang, body, bool(STATIC_MARK.match(prev.strip()))))
        i += 1
    return out


def inline_code(text: str):
    """Inline code spans outside fenced blocks."""
    outside = re.sub(r"^(```+|~~~+).*?^\1", "", text, flags=re.S | re.M)
    return re.findall(r"`([^`\n]+)`", outside)


def join_continuations(lines):
    out, cur = [], ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
        else:
            out.append(cur + line)
            cur = ""
    if cur:
        out.append(cur)
    return out


def shell_commands(block: Block):
    """Commands of a shell block: one per logical line, comments dropped."""
    return [l for l in join_continuations(block.lines) if l.strip() and not l.strip().startswith("#")]


def text_commands(block: Block):
    """(command, expected exit) for each `$ command` of a text block."""
    out = []
    for n, line in enumerate(block.lines):
        if not line.startswith("$ "):
            continue
        expect = 0
        for later in block.lines[n + 1:]:
            if later.startswith("$ "):
                break
            m = re.match(r"^\(exit (\d+)\)\s*$", later)
            if m:
                expect = int(m.group(1))
                break
        out.append((line[2:], expect))
    return out


# --------------------------------------------------------------------------------------------
# Options and subcommands, from each binary's --help

SEPARATORS = {"|", "||", "&&", ";", "&", "(", ")", "do", "then", "$(", "`"}


def tokens(command: str):
    lex = shlex.shlex(command, posix=True, punctuation_chars="|&;()")
    lex.whitespace_split = True
    lex.commenters = "#"
    try:
        return list(lex)
    except ValueError:  # an unclosed quote: split on blanks
        return command.split()


def command_heads(command: str):
    """The program of each simple command in a command line (loops and pipes included)."""
    toks = tokens(command)
    heads, expect_head, in_for = [], True, False
    for t in toks:
        if t in SEPARATORS or t.endswith("$(") or t == "$":
            expect_head, in_for = True, False
            if t == "do":
                in_for = False
            continue
        if in_for:
            continue
        if expect_head:
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", t):
                continue  # VAR=value before a command
            if t == "for":
                in_for = True
                expect_head = False
                continue
            if t in ("done", "fi"):
                continue
            heads.append(t)
            expect_head = False
    return heads


class HelpIndex:
    """What each rrdns binary's --help names: options, options taking a value, subcommands."""

    def __init__(self, helps: dict):
        self.flags, self.valued, self.subcommands = {}, {}, {}
        for name, text in helps.items():
            self.flags[name] = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
            self.valued[name] = {flag for flag, _ in re.findall(
                r"(?<![\w-])(--[a-z][a-z0-9-]*)[ =]([A-Z][A-Z0-9:_.,=|\[\]-]*|\d[\d.]*)", text)}
            subs = set(re.findall(r"^\s*(?:usage:\s*)?%s ([a-z][a-z-]*)\b" % re.escape(name), text,
                                  flags=re.M))
            section = re.search(r"^commands:\n(.*?)(?:\n\n|\Z)", text, flags=re.M | re.S)
            if section:
                subs |= set(re.findall(r"^  ([a-z][a-z-]*)\b", section.group(1), flags=re.M))
            self.subcommands[name] = subs

    @classmethod
    def from_binaries(cls):
        helps = {}
        for name in BINARIES:
            path = real_binary(name)
            assert path.exists(), "%s not found at %s" % (name, path)
            r = subprocess.run([str(path), "--help"], capture_output=True, text=True, timeout=10,
                               stdin=subprocess.DEVNULL)
            helps[name] = r.stdout + r.stderr
            assert helps[name].strip(), "%s --help printed nothing" % name
        return cls(helps)

    def check(self, command: str, synopsis=False):
        """Problems with the rrdns commands in a command line: unknown options or subcommands.
        synopsis: a usage line ([--opt ARG] ...), where only the options are checked."""
        problems = []
        if synopsis:
            name = Path(command.split()[0]).name if command.split() else ""
            if name in BINARIES:
                for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", command):
                    if flag not in self.flags[name]:
                        problems.append("%s: unknown option %s" % (name, flag))
            return problems
        toks = tokens(command)
        for i, t in enumerate(toks):
            name = Path(t).name
            if name not in BINARIES or (i > 0 and toks[i - 1] not in SEPARATORS
                                         and toks[i - 1] not in ("--", "sudo", "exec")
                                         and not re.match(r"^[A-Za-z_]\w*=", toks[i - 1])):
                continue
            args = []
            for a in toks[i + 1:]:
                if a in SEPARATORS or a in ("done", ">", ">>", "2>", "2>&1"):
                    break
                args.append(a)
            positionals, skip, ended = [], False, False
            for a in args:
                if skip:
                    skip = False
                    continue
                if not ended and a == "--":
                    ended = True
                    continue
                if not ended and a.startswith("--"):
                    flag = a.split("=", 1)[0]
                    if flag not in self.flags[name]:
                        problems.append("%s: unknown option %s" % (name, flag))
                    elif "=" not in a and flag in self.valued[name]:
                        skip = True
                    continue
                positionals.append(a)
            if self.subcommands[name]:
                if not positionals:
                    problems.append("%s: no subcommand in %r" % (name, command))
                elif positionals[0] not in self.subcommands[name]:
                    problems.append("%s: unknown subcommand %r (its --help lists %s)" % (
                        name, positionals[0], ", ".join(sorted(self.subcommands[name]))))
        return problems


@pytest.fixture(scope="module")
def help_index():
    return HelpIndex.from_binaries()


def static_problems(text: str, page: str, index: HelpIndex):
    """Every option and subcommand problem in a page's code blocks and inline code."""
    problems, checked = [], 0
    for block in code_blocks(text, page):
        if block.lang in SHELL_LANGS:
            for cmd in shell_commands(block):
                found = index.check(cmd)
                checked += any(Path(t).name in BINARIES for t in tokens(cmd))
                problems += ["%s: %s" % (block.where, p) for p in found]
        elif block.lang in TEXT_LANGS:
            for line in join_continuations(block.lines):
                if line.startswith("$ "):
                    found = index.check(line[2:])
                elif line.split() and Path(line.split()[0]).name in BINARIES:
                    found = index.check(line, synopsis=True)
                else:
                    continue
                checked += 1
                problems += ["%s: %s" % (block.where, p) for p in found]
    for span in inline_code(text):
        if span.split() and Path(span.split()[0]).name in BINARIES:
            checked += 1
            problems += ["%s: `%s`: %s" % (page, span, p) for p in index.check(span, synopsis=True)]
    return problems, checked


def test_checker_bites(help_index):
    """The negative control: made-up options and subcommands are reported, real ones are not."""
    assert help_index.check("rrdnsctl status") == []
    assert help_index.check("build/rrdnsctl drain 127.0.0.13 --for 10m --pool www") == []
    assert help_index.check("rrdnsctl pool weighted --json | rrdns-verify rotation --server "
                            "127.0.0.1:5353 --count 10 --expect-from - weighted.demo.test") == []
    assert help_index.check("rrdnsctl --frobnicate status")
    assert help_index.check("rrdnsctl frobnicate 127.0.0.13")
    assert help_index.check("for i in 1 2; do rrdnsctl status --no-such-flag; done")
    assert help_index.check("rrdns-verify rotate --server 127.0.0.1:5353 www.demo.test")
    assert help_index.check("rrdnsd --listen 127.0.0.1:5353 --threds 2 zones/rr.test.toml")
    assert help_index.check("rrdns-replica --listen 127.0.0.1:0 --sick", synopsis=True)
    page = ("# t\n\n```sh\nrrdnsctl drain 127.0.0.13 --forever\n```\n\n"
            "Use `rrdnsd --listen-all` to ...\n")
    problems, checked = static_problems(page, "made-up.md", help_index)
    assert checked == 2 and len(problems) == 2, problems
    # and an unmarked block with a command the demo can't run is refused
    blocks = code_blocks("```sh\napt-get install -y nsd\n```\n")
    assert unrunnable(blocks[0]) == ["apt-get"]
    marked = code_blocks("<!-- test_docs: static (installs) -->\n```sh\napt-get install nsd\n```\n")
    assert marked[0].static


def test_options_and_subcommands_exist(help_index):
    problems, checked = [], 0
    for page in pages():
        p, c = static_problems(page.read_text(), str(page.relative_to(SOURCE)), help_index)
        problems += p
        checked += c
    assert checked >= 40, "only %d rrdns commands found in the docs: is the extraction broken?" % checked
    assert not problems, "options or subcommands that --help does not list:\n" + "\n".join(problems)


# --------------------------------------------------------------------------------------------
# Links and the layout page

def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip())
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path):
    text = re.sub(r"^(```+|~~~+).*?^\1", "", path.read_text(), flags=re.S | re.M)
    seen, out = {}, set()
    for m in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, flags=re.M):
        s = slug(m.group(1))
        n = seen.get(s, 0)
        out.add(s if n == 0 else "%s-%d" % (s, n))
        seen[s] = n + 1
    return out


def test_links_resolve():
    problems, pending, checked = [], [], 0
    for page in pages():
        text = re.sub(r"^(```+|~~~+).*?^\1", "", page.read_text(), flags=re.S | re.M)
        text = re.sub(r"`[^`\n]*`", "", text)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue
            checked += 1
            file_part, _, anchor = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            where = "%s: (%s)" % (page.relative_to(SOURCE), target)
            if not dest.exists():
                # The man pages are written on their own branch: until docs/man/ exists, links
                # into it are reported, not failed. Once it exists every link must resolve.
                man = SOURCE / "docs" / "man"
                if man in dest.parents and not man.exists():
                    pending.append(where)
                else:
                    problems.append(where + " no such file")
                continue
            if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(where + " no heading with that anchor in %s" % dest.name)
    assert checked >= 30, "only %d links found: is the extraction broken?" % checked
    assert not problems, "broken links:\n" + "\n".join(problems)
    if pending:
        print("links into docs/man/ not checked yet (no docs/man/):\n" + "\n".join(pending))


def test_layout_names_existing_paths():
    text = (SOURCE / "docs" / "layout.md").read_text()
    block = code_blocks(text)[0].lines
    firsts = [l.split()[0] for l in block if l.strip() and not l.startswith(" ")]
    missing = [p for p in firsts if not (SOURCE / p).exists()]
    tools_lines, in_tools = [], False
    for line in block:
        if not line.startswith(" "):
            in_tools = line.startswith("tools/")
        if in_tools:
            tools_lines.append(line)
    tools_text = " ".join(tools_lines)
    for name in re.findall(r"\b([\w.-]+(?:/|\.py|\.sh))(?=[ ,(]|$)", tools_text):
        if name != "tools/" and not (SOURCE / "tools" / name.rstrip("/")).exists():
            missing.append("tools/" + name)
    modules = sorted(p.name for p in (SOURCE / "dns").iterdir() if p.is_dir())
    unlisted = [m for m in modules if "dns/" + m not in firsts]
    assert not missing, "docs/layout.md names paths that do not exist: %s" % missing
    assert not unlisted, "docs/layout.md does not list these dns/ modules: %s" % unlisted


# --------------------------------------------------------------------------------------------
# Running the blocks against the demo

def unrunnable(block: Block):
    """The commands of a shell block that the demo runner does not know."""
    bad = []
    for cmd in shell_commands(block):
        for head in command_heads(cmd):
            name = Path(head).name
            if name not in RUNNABLE:
                bad.append(head)
            elif name == "rrdnsd" and not re.search(r"--(check|help|version)\b", cmd):
                bad.append("rrdnsd (without --check: it would start a daemon)")
            elif name == "rrdns-replica" and "--help" not in cmd:
                bad.append("rrdns-replica (it would start a replica)")
    return bad


class Demo:
    """The demo of `./tools/setup.sh run`, on free ports, in a work directory shaped like a
    clone: build/ (the tools, as logging wrappers; the control socket; the state file), zones/."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.build = workdir / "build"
        self.bin = workdir / "bin"
        self.build.mkdir()
        self.bin.mkdir()
        (workdir / "zones").symlink_to(SOURCE / "zones")
        self.log = workdir / "calls.log"
        for name in BINARIES:
            self._wrap(name, real_binary(name), (self.build, self.bin))
        for name in ("dig", "kdig", "curl"):
            found = shutil.which(name)
            if found:
                self._wrap(name, Path(found), (self.bin,))
        self.replica_port = free_port(("127.0.0.11", "127.0.0.12", "127.0.0.13"))
        self.metrics_port = free_tcp_port("127.0.0.1")
        self.replicas = []
        self.daemon = None

    def _wrap(self, name, real, dirs):
        script = ('#!/bin/sh\n"%s" "$@"\nrc=$?\nprintf "%%s\\t%%s\\t%%s\\n" "$rc" "%s" "$*" >> "%s"\n'
                  'exit $rc\n' % (real, name, self.log))
        for d in dirs:
            (d / name).write_text(script)
            (d / name).chmod(0o755)

    def start(self):
        self.replicas = []
        for n in (11, 12, 13):
            r = Replica("127.0.0.%d" % n, "web%d" % n)
            r.port = self.replica_port
            self.replicas.append(r.start())
        demo = (SOURCE / "zones" / "demo.toml").read_text()
        demo = re.sub(r"^port = 8080$", "port = %d" % self.replica_port, demo, flags=re.M)
        assert demo.count("port = %d" % self.replica_port) == 2, "zones/demo.toml changed shape"
        (self.workdir / "demo").mkdir(exist_ok=True)
        (self.workdir / "demo" / "demo.toml").write_text(demo)
        state = self.build / "rrdnsd-state.json"
        if state.exists():
            state.unlink()
        self.daemon = Daemon(self.workdir / "daemon", threads=None, zones=[
            SOURCE / "zones" / "rr.test.toml", SOURCE / "zones" / "example.toml",
            self.workdir / "demo" / "demo.toml"],
            extra_args=["--control", str(self.build / "rrdnsd.sock"), "--state-file", str(state),
                        "--metrics", "127.0.0.1:%d" % self.metrics_port])
        self.daemon.start()
        return self

    def stop(self):
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None
        stop_replicas(self.replicas)
        self.replicas = []

    def restart(self):
        self.stop()
        self.start()

    def rewrite(self, command: str) -> str:
        ports = {"5353": self.daemon.port, "8080": self.replica_port, "9153": self.metrics_port}
        return re.sub(r"(?<![\d.])(5353|8080|9153)(?!\d)", lambda m: str(ports[m.group(1)]), command)

    def env(self):
        env = dict(os.environ)
        env["PATH"] = "%s:%s:%s" % (self.bin, self.build, env.get("PATH", "/usr/bin:/bin"))
        env["RRDNS_CONTROL"] = str(self.build / "rrdnsd.sock")
        env["PWD"] = str(self.workdir)
        return env

    def run(self, script: str, where: str):
        """Runs a script in the work directory; returns (status, output, [(rc, tool, args)])."""
        start = self.log.stat().st_size if self.log.exists() else 0
        proc = subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", script], cwd=self.workdir,
                                env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                preexec_fn=_die_with_parent)
        try:
            out, _ = proc.communicate(timeout=BLOCK_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # our own session only
            out, _ = proc.communicate(timeout=10)
            pytest.fail("%s: did not finish in %d s:\n%s\n%s" % (where, BLOCK_TIMEOUT, script, out))
        calls = []
        if self.log.exists():
            with open(self.log) as f:
                f.seek(start)
                for line in f.read().splitlines():
                    rc, tool, args = (line.split("\t", 2) + ["", ""])[:3]
                    calls.append((int(rc), tool, args))
        return proc.returncode, out, calls


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = Demo(tmp_path_factory.mktemp("docs-demo"))
    d.start()
    yield d
    d.stop()


def runnable_blocks():
    out = []
    for page in pages():
        for block in code_blocks(page.read_text(), page):
            if block.static:
                continue
            if block.lang in SHELL_LANGS or (block.lang in TEXT_LANGS and text_commands(block)):
                out.append(block)
    return out


def test_every_block_is_runnable_or_marked():
    problems = ["%s: %s" % (b.where, ", ".join(unrunnable(b))) for b in runnable_blocks()
                if b.lang in SHELL_LANGS and unrunnable(b)]
    for b in runnable_blocks():
        if b.lang in TEXT_LANGS:
            for cmd, _ in text_commands(b):
                if any(Path(h).name not in RUNNABLE for h in command_heads(cmd)):
                    problems.append("%s: $ %s" % (b.where, cmd))
    assert not problems, ("these blocks use commands the demo runner does not run; mark the block "
                          "<!-- test_docs: static (why) --> or change it:\n" + "\n".join(problems))


def test_blocks_run_against_the_demo(demo):
    blocks = [b for b in runnable_blocks() if not (b.lang in SHELL_LANGS and unrunnable(b))]
    failures, ran, tool_calls = [], 0, 0
    for block in blocks:
        if block.lang in SHELL_LANGS:
            commands = shell_commands(block)
            jobs = [("\n".join(demo.rewrite(c) for c in commands), 0, "\n".join(commands))]
        else:
            jobs = [(demo.rewrite(c), expect, "$ " + c) for c, expect in text_commands(block)]
        for script, expect, shown in jobs:
            status, out, calls = demo.run(script, block.where)
            ran += 1
            tool_calls += len(calls)
            bad = [c for c in calls if c[0] != expect]
            if status != expect or bad:
                failures.append("%s: exit %d (expected %d)%s\n%s\n--- output:\n%s" % (
                    block.where, status, expect,
                    "".join("\n  %s %s -> exit %d" % (t, a, rc) for rc, t, a in bad),
                    shown, out[-3000:]))
        if MUTATES.search("\n".join(block.lines)):
            demo.restart()
    assert ran >= 15 and tool_calls >= 60, (
        "only %d blocks and %d tool calls ran: is the extraction broken?" % (ran, tool_calls))
    assert not failures, "documented commands that fail against the demo:\n\n" + "\n\n".join(
        failures)


def test_index_lists_every_page():
    """docs/README.md links every page of docs/, and README.md links docs/README.md."""
    index = (SOURCE / "docs" / "README.md").read_text()
    linked = set(re.findall(r"\]\(([\w.-]+\.md)(?:#[^)]*)?\)", index))
    pages_ = {p.name for p in (SOURCE / "docs").glob("*.md")} - {"README.md"}
    assert not pages_ - linked, "docs/README.md does not link %s" % sorted(pages_ - linked)
    assert "(docs/README.md)" in (SOURCE / "README.md").read_text()

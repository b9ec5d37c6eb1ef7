#!/usr/bin/python3
"""check_includes.py -- every #include "dns/..." (or "tools/...") must follow a CMake link edge.

The rule (README, "Layout"): a file may include a header of its own target, or of a target its
target can see through CMake's usage requirements: a target it links directly (PUBLIC, PRIVATE or
INTERFACE), and whatever those link PUBLIC or INTERFACE, transitively. PRIVATE links of a
dependency do not count: dns_health links libuv privately, so its users may not lean on it.

There is no table to keep in step: the edges are read from the CMakeLists.txt files
(add_library, add_executable, target_link_libraries, and the tests' rrdns_unit_test()), which
are also what the build uses.

Which target a file belongs to:
  - a file named in the target's add_library/add_executable source list (headers may be listed
    there too, which is how a header-only file in a directory of two libraries is placed:
    dns/health/state.hh in dns_health_state);
  - else a header whose .cc of the same name is listed;
  - else the directory's main target: the only target defined for that directory, or dns_<dir>.
A file that several targets compile (tools/verify/stats.cc) must satisfy each of them.

Checked: the includes of dns/ and tools/ headers in dns/, tools/ and tests/unit/<module>/. The
unit tests' shared helpers (tests/unit/message_util.hh, tests/unit/zone/zone_test_util.hh) may be
included by any unit test, and files no target owns (tests/unit/message_util.hh) are not checked. tests/fuzz is not scanned: its targets are made in a CMake
function the parser does not follow.

Usage: check_includes.py [--root DIR] [--verbose]
       check_includes.py --pretend FIXTURE=AS_PATH --expect AS_PATH:LINE
  --pretend reads FIXTURE as if it were the file AS_PATH (for the negative control, which puts a
  wrong include into dns/wire). With --expect the exit status is inverted: 0 only if the check
  reports a violation at exactly AS_PATH:LINE (and nothing else goes wrong).
Exit status: 0 clean, 1 violations, 2 the check itself could not run.
"""

import argparse
import os
import re
import sys
from collections import defaultdict

SCAN_ROOTS = ["dns", "tools", "tests/unit"]
SOURCE_EXT = (".cc", ".hh", ".h", ".c", ".cpp", ".hpp")
KEYWORDS = {"PUBLIC", "PRIVATE", "INTERFACE", "LINK_PUBLIC", "LINK_PRIVATE"}
LIBRARY_KINDS = {"STATIC", "SHARED", "MODULE", "INTERFACE", "OBJECT", "EXCLUDE_FROM_ALL"}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


class CheckError(Exception):
    pass


def cmake_commands(text):
    """Yields (name, [args]) for each command of a CMake file; comments and quotes handled."""
    text = re.sub(r"#[^\n]*", "", text)  # CMake has no '#' inside the arguments used here
    pos = 0
    call = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
    while True:
        m = call.search(text, pos)
        if not m:
            return
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        if depth:
            raise CheckError(f"unbalanced parentheses after {m.group(1)}(")
        args = re.findall(r'"[^"]*"|[^\s()]+', text[m.end():i - 1])
        yield m.group(1), [a.strip('"') for a in args]
        pos = i


class Targets:
    def __init__(self, root):
        self.root = root
        self.dir = {}                   # target -> directory (repository-relative)
        self.sources = defaultdict(set)  # target -> listed files (repository-relative)
        self.links = defaultdict(list)   # target -> [(dependency, visibility)]

    def read(self, cmake_file):
        directory = os.path.relpath(os.path.dirname(cmake_file), self.root)
        with open(cmake_file, encoding="utf-8") as f:
            text = f.read()
        for name, args in cmake_commands(text):
            name = name.lower()
            if name in ("add_library", "add_executable") and args:
                if "IMPORTED" in args or "ALIAS" in args:
                    continue
                target = args[0]
                if "$" in target:
                    continue  # made inside a function (rrdns_unit_test, below)
                self.dir[target] = directory
                for a in args[1:]:
                    if a in LIBRARY_KINDS:
                        continue
                    path = self.resolve(a, directory)
                    if path:
                        self.sources[target].add(path)
            elif name == "target_link_libraries" and args:
                visibility = "PUBLIC"  # the plain signature is transitive
                for a in args[1:]:
                    if a in KEYWORDS:
                        visibility = a.replace("LINK_", "")
                    else:
                        self.links[args[0]].append((a, visibility))
            elif name == "rrdns_unit_test" and args:  # tests/CMakeLists.txt's helper
                module = args[0]
                target = "test_" + module
                self.dir[target] = os.path.join(directory, "unit", module)
                self.links[target].append(("dns_" + module, "PRIVATE"))

    def resolve(self, arg, directory):
        """A source argument as a repository-relative path, or None if it is not one."""
        arg = arg.replace("${CMAKE_CURRENT_SOURCE_DIR}", directory)
        arg = arg.replace("${PROJECT_SOURCE_DIR}", ".").replace("${CMAKE_SOURCE_DIR}", ".")
        if "$" in arg or not arg.endswith(SOURCE_EXT):
            return None
        if not os.path.isabs(arg) and not arg.startswith((directory + "/", "./")):
            arg = os.path.join(directory, arg)
        return os.path.normpath(arg)

    def visible(self, target):
        """The targets whose headers `target` may include (itself included)."""
        seen = {target}
        todo = [d for d, _ in self.links.get(target, []) if d in self.dir]
        while todo:
            dep = todo.pop()
            if dep in seen:
                continue
            seen.add(dep)
            todo += [d for d, v in self.links.get(dep, []) if d in self.dir and v != "PRIVATE"]
        return seen


class Owners:
    def __init__(self, targets):
        self.targets = targets
        self.listed = defaultdict(set)  # file -> targets listing it
        for target, files in targets.sources.items():
            for f in files:
                self.listed[f].add(target)
        self.by_dir = defaultdict(list)  # directory -> targets defined for it
        for target, directory in targets.dir.items():
            self.by_dir[directory].append(target)

    def of(self, path):
        if path in self.listed:
            return self.listed[path]
        stem, ext = os.path.splitext(path)
        if ext in (".hh", ".h", ".hpp"):
            for cc in (".cc", ".c", ".cpp"):
                if stem + cc in self.listed:
                    return self.listed[stem + cc]
        directory = os.path.dirname(path)
        candidates = self.by_dir.get(directory, [])
        if len(candidates) == 1:
            return {candidates[0]}
        main = "dns_" + os.path.basename(directory)
        if main in candidates:
            return {main}
        return set()


def source_files(root):
    for top in SCAN_ROOTS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in ("node_modules", "__pycache__"))
            for name in sorted(filenames):
                if name.endswith(SOURCE_EXT):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--pretend", action="append", default=[], metavar="FIXTURE=AS_PATH")
    parser.add_argument("--expect", metavar="AS_PATH:LINE")
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args()
    root = os.path.abspath(options.root)

    targets = Targets(root)
    cmake_files = [os.path.join(root, "CMakeLists.txt"), os.path.join(root, "tests/CMakeLists.txt")]
    for top in ("dns", "tools"):
        for entry in sorted(os.listdir(os.path.join(root, top))):
            path = os.path.join(root, top, entry, "CMakeLists.txt")
            if os.path.isfile(path):
                cmake_files.append(path)
    for path in cmake_files:
        targets.read(path)
    if not any(t.startswith("dns_") for t in targets.dir):
        raise CheckError("no dns_* targets found: is --root the repository?")
    owners = Owners(targets)

    files = {f: os.path.join(root, f) for f in source_files(root)}
    for item in options.pretend:
        fixture, _, as_path = item.partition("=")
        if not as_path:
            raise CheckError(f"--pretend wants FIXTURE=AS_PATH, not {item}")
        files[os.path.normpath(as_path)] = os.path.abspath(fixture)

    violations, checked, unowned = [], 0, []
    for rel, path in sorted(files.items()):
        file_owners = owners.of(rel)
        if not file_owners:
            unowned.append(rel)
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        for number, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            header = os.path.normpath(m.group(1))
            if not header.startswith(("dns/", "tools/")):
                continue  # system headers, and the unit tests' shared helpers (tests/unit/*.hh)
            checked += 1
            header_owners = owners.of(header)
            if not header_owners:
                violations.append(f"{rel}:{number}: {header} belongs to no target")
                continue
            for target in sorted(file_owners):
                if not header_owners & targets.visible(target):
                    violations.append(
                        f"{rel}:{number}: {target} includes {header} "
                        f"({' or '.join(sorted(header_owners))}) without linking it")

    if options.verbose:
        for target in sorted(targets.dir):
            seen = sorted(targets.visible(target) - {target})
            print(f"{target} may include: {', '.join(seen) or '-'}")
        for rel in unowned:
            print(f"not checked (no target): {rel}")
    for v in violations:
        print(v)
    print(f"include edges: {checked} includes in {len(files) - len(unowned)} files, "
          f"{len(violations)} violations")

    if options.expect:
        hits = [v for v in violations if v.startswith(options.expect + ":")]
        if len(hits) == 1 and len(violations) == 1:
            print(f"negative control: the wrong include at {options.expect} was caught")
            return 0
        print(f"negative control FAILED: expected exactly one violation at {options.expect}")
        return 1
    return 1 if violations else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (CheckError, OSError) as e:
        print(f"check_includes.py: {e}", file=sys.stderr)
        sys.exit(2)

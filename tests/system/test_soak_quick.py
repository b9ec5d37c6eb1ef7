"""Short soak: `tools/soak.sh --quick` (8 s of dnsperf load, reloads every 100 ms, a flapping
pool member) must pass against the build under test (BUILD_DIR = the directory of $RRDNSD).

Only the verdict and the counts of work done are checked, never a speed or a duration: the
machine is shared. dnsperf and curl are required (tools/setup.sh installs both).
"""

import os
import re
import shutil

import pytest

from conftest import rrdnsd_path, run_script, source_dir

RUN_TIMEOUT = 180   # s; --quick takes about 15 s: start-up, 8 s of load, wind-down


def test_soak_quick_passes():
    for tool, package in (("dnsperf", "dnsperf"), ("curl", "curl")):
        if shutil.which(tool) is None:
            pytest.fail("%s is not installed (apt-get install -y %s): the soak test needs it"
                        % (tool, package), pytrace=False)
    script = source_dir() / "tools" / "soak.sh"
    assert script.is_file(), "missing %s" % script
    build = rrdnsd_path().resolve().parent
    for name in ("rrdnsd", "rrdnsctl", "rrdns-replica"):
        assert (build / name).is_file(), "no %s in %s (set RRDNSD)" % (name, build)

    cmd = ["bash", str(script), "--quick"]
    env = dict(os.environ, BUILD_DIR=str(build))
    returncode, out, err = run_script(cmd, RUN_TIMEOUT, env=env)

    context = "BUILD_DIR=%s %s\nexit %d\nstdout:\n%s\nstderr:\n%s" % (
        build, " ".join(cmd), returncode, out, err)
    print(out)
    assert returncode == 0, context
    reloads = re.search(r"^\s*reloads:\s+(\d+) ok", out, re.M)
    flaps = re.search(r"^\s*flaps:\s+(\d+)", out, re.M)
    assert reloads and flaps, "no summary in the output\n" + context
    assert int(reloads.group(1)) > 10, "only %s reloads\n%s" % (reloads.group(1), context)
    assert int(flaps.group(1)) > 3, "only %s flaps\n%s" % (flaps.group(1), context)
    assert re.search(r"^\s*result:\s+PASS", out, re.M), context

"""The `./rb` wrapper on a machine where nothing is installed yet.

CI's own machine already has every package, so the fresh-machine path would
never run there. These tests run the real `rb` from a temporary copy of the
repository with a PATH that holds only stand-ins (dpkg-query, apt-get,
systemctl, id, python3 and the venv it makes, npm) plus the few coreutils
the script needs: nothing real can be installed, started or downloaded, and
the whole run happens in a network namespace with no interface but a down
loopback. Each stand-in records its command line; the machine's state
(installed packages) lives in a file the stand-ins share.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("python3-venv haproxy keepalived systemd-container debootstrap chromium netcat-openbsd psmisc "
            "apt-utils iproute2 ifupdown curl openssh-client nginx memcached nftables").split()
REAL_TOOLS = ("bash", "sha256sum", "cut", "awk", "grep", "mkdir", "mktemp", "rm", "touch", "cp", "tar",
              "gzip", "dirname", "chmod", "cat")
UNSHARE = shutil.which("unshare")

# One program for every stand-in; TOOL says which one it is. It records its
# command line and acts like the real tool on the shared state.
STANDIN = r'''
import os, sys, io, tarfile
from pathlib import Path

TOOL = "?"
STATE = Path(os.environ["STANDIN_STATE"])
BIN = Path(os.environ["STANDIN_BIN"])
FAIL = os.environ.get("STANDIN_FAIL", "")
args = sys.argv[1:]
if TOOL != "id":  # a question about the user, asked at every turn: not worth recording
    with open(STATE / "calls.log", "a") as log:
        log.write(" ".join([TOOL, *args]) + "\n")


def packages(kind):
    path = STATE / kind
    return set(path.read_text().split()) if path.exists() else set()


def spawn(path, tool):
    source = Path(__file__).read_text().replace(f"TOOL = {TOOL!r}", f"TOOL = {tool!r}", 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    path.chmod(0o755)


def fail(message, code):
    print(message, file=sys.stderr)
    sys.exit(code)


names = [a for a in args if not a.startswith("-")]
if TOOL == "dpkg-query":
    code = 0
    for name in names:
        if name in packages("installed"):
            print(f"{name} install ok installed")
        elif name in packages("config-files"):
            print(f"{name} deinstall ok config-files")
        else:
            print(f"dpkg-query: no packages found matching {name}", file=sys.stderr)
            code = 1
    sys.exit(code)
if TOOL == "apt-get":
    if "update" in names:
        if FAIL == "apt-get update":
            fail("E: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  "
                 "Temporary failure resolving 'deb.debian.org'", 100)
    elif "install" in names:
        if FAIL == "apt-get install":
            fail("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)", 100)
        # What Debian's invoke-rc.d would be told if a package asked to start its service now.
        policy = Path(os.environ["RB_POLICY_RC_D"])
        (STATE / "policy-at-install").write_text(
            f"{os.access(policy, os.X_OK)} {policy.read_text() if policy.exists() else '-'}")
        new = names[names.index("install") + 1:]
        (STATE / "installed").write_text("\n".join(sorted(packages("installed") | set(new))))
        if "npm" in new:
            spawn(BIN / "npm", "npm")
    sys.exit(0)
if TOOL == "id":
    print(os.environ.get("STANDIN_UID", "0"))
    sys.exit(0)
if TOOL == "python3" and args[:2] == ["-m", "venv"]:
    venv = Path(args[2])
    spawn(venv / "bin" / "python", "venv-python")
    if FAIL == "venv":  # Debian without python3-venv: a venv without pip
        fail("The virtual environment was not created successfully because ensurepip is not available.", 1)
    spawn(venv / "bin" / "pip", "pip")
    spawn(venv / "bin" / "invoke", "invoke")
    sys.exit(0)
if TOOL == "pip" and FAIL == "pip":
    fail("ERROR: Could not find a version that satisfies the requirement mkdocs<2,>=1.6", 1)
if TOOL == "npm" and args[:1] == ["pack"]:
    if FAIL == "npm":
        fail("npm ERR! network request to https://registry.npmjs.org/mermaid failed", 1)
    name, version = args[-1].split("@")
    data = f"/* {name} stand-in */\n".encode()
    inside = {"mermaid": "package/dist/mermaid.min.js", "iframe-worker": "package/shim/index.js"}[name]
    with tarfile.open(f"{name}-{version}.tgz", "w:gz") as tgz:
        info = tarfile.TarInfo(inside)
        info.size = len(data)
        tgz.addfile(info, io.BytesIO(data))
    sys.exit(0)
if TOOL == "venv-python" and args[:2] == ["-m", "runbook.cli"]:
    print("invoke:", " ".join(args[2:]))  # ./rb runs invoke through runbook.cli
sys.exit(0)
'''


@dataclass
class Machine:
    """A simulated fresh Debian machine: a copy of the repository, stand-ins, their shared state."""

    root: Path

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def policy_rc_d(self) -> Path:
        return self.root / "policy-rc.d"

    def calls(self) -> list[str]:
        log = self.state / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def set_packages(self, installed=(), config_files=()) -> None:
        (self.state / "installed").write_text("\n".join(installed))
        (self.state / "config-files").write_text("\n".join(config_files))
        if "npm" in installed:
            standin(self.root / "bin", "npm")

    def rb(self, *args: str, fail: str = "", uid: int = 0, env: dict | None = None) -> subprocess.CompletedProcess:
        (self.state / "calls.log").unlink(missing_ok=True)
        env = {"PATH": str(self.root / "bin"), "HOME": str(self.root / "home"), "LANG": "C.UTF-8",
               "STANDIN_STATE": str(self.state), "STANDIN_BIN": str(self.root / "bin"),
               "STANDIN_FAIL": fail, "STANDIN_UID": str(uid),
               # Never the machine's own /usr/sbin/policy-rc.d: one of the simulated machine's.
               "RB_POLICY_RC_D": str(self.policy_rc_d), **(env or {})}
        argv = [str(self.repo / "rb"), *args]
        if UNSHARE:  # no network at all: a new network namespace (as an unprivileged user too)
            argv = [UNSHARE, "--map-root-user", "--net", *argv]
        return subprocess.run(argv, env=env, cwd=self.root, capture_output=True, text=True, timeout=60)


@pytest.fixture
def machine(tmp_path) -> Machine:
    m = Machine(tmp_path)
    m.repo.mkdir()
    for name in ("rb", "pyproject.toml"):
        shutil.copy2(REPO / name, m.repo / name)
    (tmp_path / "home").mkdir()
    m.state.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in REAL_TOOLS:
        (bin_dir / tool).symlink_to(shutil.which(tool))
    for tool in ("dpkg-query", "apt-get", "systemctl", "id", "python3"):
        standin(bin_dir, tool)
    return m


def standin(bin_dir: Path, tool: str) -> None:
    path = bin_dir / tool
    path.write_text(f"#!{sys.executable}\n" + STANDIN.replace('TOOL = "?"', f"TOOL = {tool!r}", 1))
    path.chmod(0o755)


DPKG_QUERY = "dpkg-query -W -f=${Package} ${Status}\\n " + " ".join(PACKAGES)
APT_UPDATE = "apt-get update -qq"


def apt_install(*names: str) -> str:
    return "apt-get install -y -qq --no-install-recommends " + " ".join(names)


def last_line(proc: subprocess.CompletedProcess) -> str:
    return proc.stderr.strip().splitlines()[-1]


def test_fresh_machine_gets_every_package_the_venv_and_mermaid_then_runs_the_task(machine):
    proc = machine.rb("demo")
    assert proc.returncode == 0, proc.stderr
    assert machine.calls() == [
        DPKG_QUERY,
        APT_UPDATE,
        apt_install(*PACKAGES),
        "systemctl disable --now haproxy",
        "systemctl disable --now keepalived",
        "systemctl disable --now nginx",
        "systemctl disable --now memcached",
        "python3 -m venv .venv",
        "pip install -q --disable-pip-version-check -e .[test]",
        apt_install("npm"),  # apt's lists are already fresh: no second update
        "npm pack -q mermaid@11.4.1",
        "npm pack -q iframe-worker@1.0.4",
        "venv-python -m runbook.cli demo",
    ]
    assert proc.stderr.splitlines() == [
        "rb: instalando paquetes de Debian: " + " ".join(PACKAGES),
        "rb: preparando .venv",
        "rb: instalando npm para obtener mermaid",
        "rb: descargando mermaid 11.4.1 (paquete npm)",
        "rb: descargando iframe-worker 1.0.4 (paquete npm)",
    ]
    assert proc.stdout == "invoke: demo\n"
    vendor = machine.repo / "docs" / "assets" / "vendor"
    assert (vendor / "mermaid.min.js").read_text() == "/* mermaid stand-in */\n"
    assert (vendor / "mermaid.min.js.version").read_text() == "11.4.1\n"

    again = machine.rb("test", "--fast")
    assert again.returncode == 0 and again.stderr == ""
    assert machine.calls() == ["venv-python -m runbook.cli test --fast"]  # nothing changed: nothing checked


def test_only_what_is_missing_is_installed_and_a_removed_package_counts_as_missing(machine):
    # haproxy was removed but not purged: dpkg still knows it ("deinstall ok config-files").
    machine.set_packages(installed=[p for p in PACKAGES if p not in ("haproxy", "debootstrap")] + ["npm"],
                         config_files=["haproxy"])
    proc = machine.rb("plan")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == "rb: instalando paquetes de Debian: haproxy debootstrap"
    calls = machine.calls()
    assert calls[1:4] == [APT_UPDATE, apt_install("haproxy", "debootstrap"), "systemctl disable --now haproxy"]
    assert "systemctl disable --now keepalived" not in calls  # already there: the wrapper leaves it alone


def test_apt_update_failure_is_one_spanish_line_and_nothing_else_runs(machine):
    proc = machine.rb("demo", fail="apt-get update")
    assert proc.returncode == 1
    assert "Temporary failure resolving" in proc.stderr  # apt's own words stay visible
    assert last_line(proc) == (
        "rb: falló «apt-get update» (código 100): revisa la red y las fuentes de apt "
        "(/etc/apt/sources.list*) y vuelve a ejecutar ./rb"
    )
    assert machine.calls() == [DPKG_QUERY, APT_UPDATE]


def test_apt_install_failure_names_the_packages_and_stops(machine):
    proc = machine.rb("demo", fail="apt-get install")
    assert proc.returncode == 1
    assert last_line(proc) == (
        f"rb: falló «apt-get install {' '.join(PACKAGES)}» (código 100): lee el error de apt de arriba "
        "(¿otro apt en marcha?), corrígelo y vuelve a ejecutar ./rb"
    )
    assert machine.calls()[-1] == apt_install(*PACKAGES)
    assert not (machine.repo / ".venv").exists()


def test_without_root_missing_packages_are_named_not_installed(machine):
    machine.set_packages(installed=[p for p in PACKAGES if p != "chromium"] + ["npm"])
    proc = machine.rb("plan", uid=1000)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == (
        "rb: aviso: faltan paquetes de Debian (chromium): ejecuta ./rb una vez como root, "
        "o «sudo apt-get install chromium»"
    )
    assert not any(c.startswith(("apt-get", "systemctl")) for c in machine.calls())
    assert machine.calls()[-1] == "venv-python -m runbook.cli plan"


def fails_once(machine: Machine, fail: str, line: str) -> subprocess.CompletedProcess:
    """`./rb plan` on a machine with every package: fails as `fail` says, then runs again unhindered."""
    machine.set_packages(installed=[*PACKAGES, "npm"])
    proc = machine.rb("plan", fail=fail)
    assert (proc.returncode, last_line(proc)) == (1, line)
    assert not list((machine.repo / ".venv").glob(".runbook-*"))  # no stamp: not taken as done
    fixed = machine.rb("plan")
    assert fixed.returncode == 0, fixed.stderr
    return fixed


def test_venv_without_python3_venv_says_what_to_install_and_is_redone_next_time(machine):
    fails_once(machine, "venv", "rb: no se pudo crear .venv con «python3 -m venv» (código 1): instala python3-venv "
               "(como root: apt-get install python3-venv) y vuelve a ejecutar ./rb")
    assert machine.calls()[1:3] == ["python3 -m venv .venv", "pip install -q --disable-pip-version-check -e .[test]"]


def test_pip_failure_is_one_spanish_line_and_is_retried_next_time(machine):
    fails_once(machine, "pip", "rb: pip no pudo instalar el proyecto en .venv (código 1): revisa el acceso a PyPI "
               "(o la configuración de pip) y vuelve a ejecutar ./rb")
    assert machine.calls()[1:] == ["pip install -q --disable-pip-version-check -e .[test]",
                                   "npm pack -q mermaid@11.4.1", "npm pack -q iframe-worker@1.0.4",
                                   "venv-python -m runbook.cli plan"]


def test_mermaid_download_failure_is_a_warning_and_the_task_still_runs(machine):
    machine.set_packages(installed=[*PACKAGES, "npm"])
    proc = machine.rb("lab.status", fail="npm")
    assert proc.returncode == 0
    assert proc.stderr.splitlines()[-3:] == [
        "rb: aviso: no se pudo descargar mermaid (npm pack mermaid@11.4.1, código 1) y «./rb docs» "
        "fallará: revisa el acceso al registro de npm y vuelve a ejecutar ./rb",
        "rb: descargando iframe-worker 1.0.4 (paquete npm)",
        "rb: aviso: no se pudo descargar iframe-worker (npm pack iframe-worker@1.0.4, código 1) y «./rb docs» "
        "fallará: revisa el acceso al registro de npm y vuelve a ejecutar ./rb",
    ]
    assert proc.stdout == "invoke: lab.status\n"
    assert not (machine.repo / "docs" / "assets" / "vendor" / "mermaid.min.js").exists()


def test_an_unforeseen_failure_still_prints_where_it_happened(machine):
    (machine.repo / "pyproject.toml").unlink()  # sha256sum fails: nobody wrote a message for that
    machine.set_packages(installed=[*PACKAGES, "npm"])
    proc = machine.rb("plan")
    assert proc.returncode == 1
    assert last_line(proc).startswith("rb: error inesperado (código 1) en la línea ")
    assert "sha256sum rb pyproject.toml" in last_line(proc)
    assert machine.calls() == []


@pytest.mark.skipif(UNSHARE is None, reason="sin unshare no se puede aislar la red")
def test_the_simulated_machine_has_no_network(machine):
    # What `Machine.rb` wraps the wrapper in: a network namespace whose only interface is a down loopback.
    (machine.root / "bin" / "ip").symlink_to(shutil.which("ip"))
    proc = subprocess.run([UNSHARE, "--map-root-user", "--net", str(machine.root / "bin" / "ip"), "-o", "link"],
                          env={"PATH": str(machine.root / "bin")}, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert [line.split(":")[1].strip() for line in proc.stdout.splitlines()] == ["lo"]
    assert "state DOWN" in proc.stdout


def test_a_half_made_venv_is_named_with_what_to_do(machine):
    machine.set_packages(installed=[*PACKAGES, "npm"])
    assert machine.rb("plan").returncode == 0
    (machine.repo / ".venv" / "bin" / "invoke").unlink()
    proc = machine.rb("plan")
    assert proc.returncode == 1
    assert last_line(proc) == "rb: falta .venv/bin/invoke (.venv a medias): bórralo («rm -rf .venv») y vuelve a ejecutar ./rb"


def ready_machine(machine: Machine) -> None:
    """Every package installed and one run done: the wrapper has stamped what it checked."""
    machine.set_packages(installed=[*PACKAGES, "npm"])
    assert machine.rb("plan").returncode == 0
    assert machine.calls()[0] == DPKG_QUERY
    assert machine.rb("plan").returncode == 0
    assert machine.calls() == ["venv-python -m runbook.cli plan"]  # unchanged: no dpkg-query, no pip


def test_a_changed_pyproject_checks_packages_and_the_venv_again(machine):
    ready_machine(machine)
    pyproject = machine.repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# a new dependency, say\n")
    machine.set_packages(installed=[p for p in PACKAGES if p != "curl"] + ["npm"])  # and curl went away
    proc = machine.rb("plan")
    assert proc.returncode == 0, proc.stderr
    assert machine.calls() == [DPKG_QUERY, APT_UPDATE, apt_install("curl"),
                               "pip install -q --disable-pip-version-check -e .[test]",
                               "venv-python -m runbook.cli plan"]
    assert machine.rb("plan").returncode == 0
    assert machine.calls() == ["venv-python -m runbook.cli plan"]


def test_a_changed_wrapper_checks_its_packages_again(machine):
    ready_machine(machine)
    rb = machine.repo / "rb"
    rb.write_text(rb.read_text().replace("memcached nftables)", "memcached nftables jq)", 1))
    proc = machine.rb("plan")
    assert proc.returncode == 0, proc.stderr
    assert machine.calls() == [DPKG_QUERY + " jq", APT_UPDATE, apt_install("jq"), "venv-python -m runbook.cli plan"]


def test_a_removed_venv_checks_everything_again(machine):
    ready_machine(machine)
    shutil.rmtree(machine.repo / ".venv")
    proc = machine.rb("plan")
    assert proc.returncode == 0, proc.stderr
    assert machine.calls() == [DPKG_QUERY, "python3 -m venv .venv",
                               "pip install -q --disable-pip-version-check -e .[test]",
                               "venv-python -m runbook.cli plan"]


def test_missing_packages_without_root_are_named_on_every_call(machine):
    # Nothing was installed, so nothing is stamped: the warning stays until someone fixes it.
    machine.set_packages(installed=[p for p in PACKAGES if p != "chromium"] + ["npm"])
    for _ in range(2):
        proc = machine.rb("plan", uid=1000)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.splitlines()[0].startswith("rb: aviso: faltan paquetes de Debian (chromium)")
        assert machine.calls()[0] == DPKG_QUERY


def test_rb_check_install_asks_for_the_checks_even_when_nothing_changed(machine):
    ready_machine(machine)
    proc = machine.rb("plan", env={"RB_CHECK_INSTALL": "1"})
    assert proc.returncode == 0, proc.stderr
    assert machine.calls() == [DPKG_QUERY, "venv-python -m runbook.cli plan"]


def test_no_service_starts_while_packages_install_and_the_policy_goes_afterwards(machine):
    proc = machine.rb("demo")
    assert proc.returncode == 0, proc.stderr
    # During apt-get install, Debian's invoke-rc.d found a policy forbidding every start (101)...
    executable, policy = (machine.state / "policy-at-install").read_text().split(" ", 1)
    assert executable == "True" and policy.splitlines()[-1] == "exit 101"
    # ...and the machine is left without it: later installs start their services as usual.
    assert not machine.policy_rc_d.exists()


def test_a_failed_install_removes_the_policy_too(machine):
    proc = machine.rb("demo", fail="apt-get install")
    assert proc.returncode == 1
    assert (machine.state / "policy-at-install").exists() is False  # apt failed before installing
    assert not machine.policy_rc_d.exists()


def test_the_machines_own_policy_is_left_alone(machine):
    machine.policy_rc_d.write_text("#!/bin/sh\n# the admin's own\nexit 0\n")
    machine.policy_rc_d.chmod(0o755)
    assert machine.rb("demo").returncode == 0
    assert machine.policy_rc_d.read_text() == "#!/bin/sh\n# the admin's own\nexit 0\n"
    assert (machine.state / "policy-at-install").read_text().endswith("exit 0\n")

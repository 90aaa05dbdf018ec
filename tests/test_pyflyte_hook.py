"""pyflyte shows our `backfill` even when another package holds flytekit's single `flytekit.configuration.plugin`
slot, and that package's own pyflyte changes still apply.

The test makes a virtual environment that sees this environment's packages (flytekit, this plugin) through a
`.pth` file, and installs into it, by writing its files the way an installer would, a throwaway distribution that
registers a `flytekit.configuration.plugin` entry point adding a `throwaway-hello` command to pyflyte.
"""

import os
import site
import subprocess
import venv
from pathlib import Path

import pytest

THROWAWAY_MODULE = '''
import rich_click as click
from flytekit.configuration.plugin import FlytekitPlugin


class ThrowawayPlugin(FlytekitPlugin):
    @staticmethod
    def configure_pyflyte_cli(main):
        @click.command("throwaway-hello")
        def hello():
            click.echo("hello from the throwaway plugin")

        main.add_command(hello)
        return main
'''


@pytest.fixture(scope="module")
def other_plugin_python(tmp_path_factory):
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=False)
    python = root / "bin" / "python"
    child_site = Path(
        subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    )
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (child_site / "parent_env.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in parents))
    (child_site / "throwaway_cli_plugin.py").write_text(THROWAWAY_MODULE)
    dist = child_site / "throwaway_cli_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: throwaway-cli-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[flytekit.configuration.plugin]\nthrowaway = throwaway_cli_plugin:ThrowawayPlugin\n")
    (dist / "RECORD").write_text("")
    return python


def pyflyte(python, *args):
    code = "import sys; from flytekit.clis.sdk_in_container.pyflyte import main; sys.exit(main())"
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True, timeout=180, env=env)


def test_the_other_plugin_holds_the_slot(other_plugin_python):
    out = subprocess.run(
        [str(other_plugin_python), "-c",
         "from flytekit.configuration.plugin import get_plugin; print([c.__name__ for c in get_plugin().__mro__])"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert "ThrowawayPlugin" in out.stdout, out.stderr


def test_pyflyte_backfill_is_ours_beside_another_cli_plugin(other_plugin_python):
    helped = pyflyte(other_plugin_python, "backfill", "--help")
    assert helped.returncode == 0, helped.stderr
    assert "--per-node-timeout" in helped.stdout and "--max-parallelism" in helped.stdout


def test_the_other_plugins_command_and_pyflyte_run_still_work(other_plugin_python):
    hello = pyflyte(other_plugin_python, "throwaway-hello")
    assert hello.returncode == 0 and "hello from the throwaway plugin" in hello.stdout, hello.stderr
    run = pyflyte(other_plugin_python, "run", "--help")
    assert run.returncode == 0 and "Usage" in run.stdout, run.stderr

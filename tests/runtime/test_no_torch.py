"""The runtime works where torch cannot be imported at all: index and search a folder with it blocked."""
import json
import subprocess
import sys
import textwrap

from tests_support import BLOCK_TORCH


def test_runtime_indexes_and_searches_with_torch_blocked(tmp_path, fp32_bundle, photo_folder):
    script = BLOCK_TORCH + textwrap.dedent(f"""
        import sys
        import json
        from click.testing import CliRunner
        import pocketclip.cli
        cli = pocketclip.cli.cli
        db = {str(tmp_path / "index.db")!r}
        result = CliRunner().invoke(cli, ["index", {str(photo_folder)!r}, "--bundle", {str(fp32_bundle.root)!r},
                                          "--db", db, "--silent"])
        assert result.exit_code == 0, result.output
        hits = json.loads(CliRunner().invoke(cli, ["search", "a red star", "--db", db, "--json"]).stdout)
        status = json.loads(CliRunner().invoke(cli, ["status", "--db", db, "--json"]).stdout)
        refused = CliRunner().invoke(cli, ["eval", "--model", "demo-student"])
        assert refused.exit_code == 1 and "needs torch" in refused.output, refused.output
        assert "torch" not in sys.modules
        print(json.dumps({{"hits": len(hits), "ok": status["ok"]}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"hits": 10, "ok": 24}

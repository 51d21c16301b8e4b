"""The runtime works where torch cannot be imported at all."""
import subprocess
import sys
import textwrap


def test_runtime_imports_and_works_with_torch_blocked():
    script = textwrap.dedent("""
        import sys
        class BlockTorch:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch is blocked for this test")
        sys.meta_path.insert(0, BlockTorch())

        import runtime, runtime.cli, runtime.preprocess, runtime.tokenizer, runtime.contact_sheet
        from PIL import Image
        from click.testing import CliRunner
        x = runtime.preprocess.preprocess_image(Image.new("RGB", (90, 70)), {
            "size": 64, "mean": (0.5,) * 3, "std": (0.5,) * 3})
        ids = runtime.tokenizer.load_tokenizer()(["a red star"])
        assert x.shape == (3, 64, 64) and ids[0, 0] == 49406
        result = CliRunner().invoke(runtime.cli.cli, ["--help"])
        assert result.exit_code == 0, result.output
        result = CliRunner().invoke(runtime.cli.cli, ["eval", "--model", "demo-student"])
        assert result.exit_code == 1 and "needs torch" in result.output, result.output
        assert "torch" not in sys.modules
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"

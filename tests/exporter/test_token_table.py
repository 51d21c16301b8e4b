"""The text tower's token table as int8 rows with per-row scales, in the .pte and in ONNX, held to the int8 bars."""
import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from onnx import TensorProto, helper

from pocketclip.cli import cli
from pocketclip.exporter.token_table import describe, int8_rows, quantize_onnx_table, with_int8_table
from pocketclip.models.towers.checkpoint import load_model
from pocketclip.runtime.parity.quality import BARS


def test_rows_are_int8_with_one_symmetric_scale_each():
    table = torch.randn(6, 32) * torch.tensor([1e-3, 1e-2, 1.0, 10.0, 100.0, 0.5])[:, None]
    rows, scales = int8_rows(table)
    assert rows.dtype == np.int8 and rows.shape == (6, 32) and scales.shape == (6,)
    assert np.all(np.abs(rows.astype(np.int16)).max(axis=1) >= 127)  # every row spans the range: its own scale
    back = rows.astype(np.float32) * scales[:, None]
    err = np.abs(back - table.numpy()).max(axis=1)
    assert np.all(err <= scales * 0.5 * (1 + 1e-4))  # round to nearest: half a step at most (float rounding aside)
    assert np.all(err / np.abs(table.numpy()).max(axis=1) < 0.005)  # small rows keep their precision


def test_quantizing_leaves_the_tower_untouched():
    text = load_model("demo-student").text
    before = text.token_embedding.weight.detach().clone()
    quantized = with_int8_table(text)
    assert torch.equal(text.token_embedding.weight, before)
    assert quantized.token_embedding.weight.qdata.dtype == torch.int8
    with pytest.raises(ValueError, match="no nn.Embedding token table"):
        with_int8_table(load_model("demo-student").image)


def test_a_graph_without_a_token_table_is_refused():
    graph = helper.make_graph([helper.make_node("Identity", ["ids"], ["out"])], "g",
                              [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 77])],
                              [helper.make_tensor_value_info("out", TensorProto.INT64, [1, 77])])
    with pytest.raises(ValueError, match="expected one Gather of 'ids' from a float table, found 0"):
        quantize_onnx_table(helper.make_model(graph), "ids")


@pytest.mark.parametrize("fmt", ["pte", "onnx"])
def test_int8_text_artifacts_carry_the_int8_table_and_meet_the_bars(int8_bundle, fmt):
    entry = int8_bundle.artifact("text", fmt, "int8")
    vocab, dim = load_model("demo-student").text.token_embedding.weight.shape
    assert entry["token_table"] == describe(vocab, dim)
    measured = entry["measured"]
    assert measured["cosine_min"] >= BARS["int8"]["cosine_min"]["text"] == 0.98
    assert measured["top10_overlap"] >= BARS["int8"]["top10_overlap_min"] == 0.9
    assert entry["bytes"] < 0.5 * vocab * dim * 4  # the float32 table alone would be twice this artifact
    if fmt == "pte":
        assert entry["not_delegated"]["quantized_decomposed_embedding_byte_default"] == 1
        assert "aten_embedding_default" not in entry["not_delegated"]


def test_onnx_holds_exactly_the_quantizers_rows_and_no_float_table(int8_bundle):
    table = load_model("demo-student").text.token_embedding.weight
    rows, scales = int8_rows(table)
    model = onnx.load(str(int8_bundle.path(int8_bundle.artifact("text", "onnx", "int8")["file"])))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    np.testing.assert_array_equal(inits["token_embedding.weight.int8"], rows)
    np.testing.assert_array_equal(inits["token_embedding.weight.row_scales"][:, 0], scales)
    floats = [n for n, a in inits.items() if a.dtype == np.float32 and a.ndim == 2 and a.shape[0] == table.shape[0]]
    assert floats == ["token_embedding.weight.row_scales"]  # (vocab, 1): no float table left


def test_parity_passes_on_the_int8_bundle(int8_bundle):
    result = CliRunner().invoke(cli, ["parity", str(int8_bundle.root)])
    assert result.exit_code == 0, result.output
    assert "text_xnnpack_int8.pte" in result.output and "text_onnx_int8.onnx" in result.output

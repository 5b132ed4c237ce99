#!/usr/bin/env python3
"""Reads back each trainer format of a trajpipe run the way that trainer's own loader does.

Usage: python scripts/formats_check.py <run dir>   (the folder holding export/ and formats/)
Run by scripts/consumer_check.py / .ci/run when Python is present. Trainers that cannot be installed here (veRL,
slime, NeMo-RL, LLaMA-Factory) are checked by running the loading steps of their code, copied below from the named
file; TRL is used itself when installed. The README's test command never needs this.
"""
import json
import math
import re
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from datasets import load_dataset


def fail(msg: str) -> None:
    print(f"formats check FAILED: {msg}")
    sys.exit(1)


run = Path(sys.argv[1])
formats = run / "formats"
manifest = json.loads((formats / "manifest.json").read_text())
outputs = [o["path"] for o in manifest["outputs"]]
export_rows = {r["id"]: r for r in pq.read_table(sorted((run / "export" / "data").glob("*.parquet"))).to_pylist()}


def trimmed(messages):
    last = max(i for i, m in enumerate(messages) if m["loss"])
    return messages[: last + 1]


def tiny_tokenizer():
    """A word-level tokenizer with a Qwen-like chat template that renders tools and tool calls (no download)."""
    try:
        import jinja2  # noqa: F401  (apply_chat_template needs it)
        from tokenizers import Tokenizer, models, pre_tokenizers
        from transformers import PreTrainedTokenizerFast
    except ImportError as e:
        print(f"transformers/jinja2 not installed ({e}); the formats are checked without rendering a chat template")
        return None

    tok = Tokenizer(models.WordLevel(vocab={"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    t = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    t.chat_template = (
        "{% if tools %}<tools>{% for tool in tools %}{{ tool | tojson }}{% endfor %}</tools>{% endif %}"
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}"
        "{% if m['tool_calls'] %}{% for c in m['tool_calls'] %}<call>{{ c['function']['name'] }} {{ c['function']['arguments'] }}</call>{% endfor %}{% endif %}"
        "\n{% endfor %}"
    )
    return t


tokenizer = tiny_tokenizer()


def render(messages, tools):
    return tokenizer.apply_chat_template(messages, tools=tools, tokenize=False) if tokenizer else None

checked = []

# veRL: verl/utils/dataset/multiturn_sft_dataset.py, _read_files_and_process: pd.read_parquet, then
# convert_nested_value_to_list_recursive on messages and tools, then apply_chat_template(messages, tools=tools).
def convert_nested_value_to_list_recursive(data_item):  # copied from that file
    import numpy as np

    if isinstance(data_item, dict):
        return {k: convert_nested_value_to_list_recursive(v) for k, v in data_item.items()}
    elif isinstance(data_item, list):
        return [convert_nested_value_to_list_recursive(e) for e in data_item]
    elif isinstance(data_item, np.ndarray):
        return convert_nested_value_to_list_recursive(data_item.tolist())
    return data_item


verl_files = [formats / p for p in outputs if p.startswith("verl/")]
if verl_files:
    df = pd.concat([pd.read_parquet(f) for f in verl_files])
    messages = df["messages"].apply(convert_nested_value_to_list_recursive).tolist()
    tools = df["tools"].apply(convert_nested_value_to_list_recursive).tolist()
    for rid, msgs, tl in zip(df["id"], messages, tools):
        if not isinstance(tl, list):
            fail(f"veRL row {rid}: tools is {type(tl).__name__} ({tl!r:.60}), MultiTurnSFTDataset needs a list")
        if isinstance(tl, float) and math.isnan(tl):
            fail(f"veRL row {rid}: tools is NaN")
        if not all(isinstance(m, dict) and isinstance(m["content"], str) for m in msgs):
            fail(f"veRL row {rid}: messages are not dicts with string content")
        want = [m for m in trimmed(export_rows[rid]["messages"])]
        if [m["role"] for m in msgs] != [m["role"] for m in want]:
            fail(f"veRL row {rid}: roles differ from the export")
        text = render(msgs, tl or None)
        if text is not None and text.count("<|assistant|>") != sum(m["role"] == "assistant" for m in msgs):
            fail(f"veRL row {rid}: the chat template lost assistant turns")
    checked.append(f"veRL {len(df)} rows (pandas + apply_chat_template with tools)")

# slime: slime/utils/data.py Dataset.__init__ (metadata, tools under --tool-key tools) and
# slime/utils/mask_utils.py (step_loss_mask != 1 zeroes a message).
slime = formats / "slime" / "train.jsonl"
if slime.exists():
    n = 0
    for line in slime.read_text().splitlines():
        data = json.loads(line)
        metadata = data.get("metadata") or {}
        tools = data["tools"]
        if isinstance(tools, str):
            tools = json.loads(tools)
        assert isinstance(tools, list), f"tools must be a list, got {type(tools)} instead"
        metadata["tools"] = tools  # fails on a JSON string metadata ('str' object does not support item assignment)
        want = trimmed(export_rows[data["id"]]["messages"])
        masks = [m.get("step_loss_mask", 1) for m in data["messages"]]
        if masks != [1 if m["loss"] else 0 for m in want]:
            fail(f"slime row {data['id']}: step_loss_mask {masks} differs from the export's loss")
        render(data["messages"], tools or None)
        n += 1
    checked.append(f"slime {n} rows (Dataset tools/metadata, step_loss_mask == export loss)")

# NeMo-RL: nemo_rl/data/datasets/response_datasets/oai_format_dataset.py, standard path: load_dataset("json"),
# then format_data, which asserts that the last message is an assistant's.
nemo = formats / "nemo-rl" / "train.jsonl"
if nemo.exists():
    ds = load_dataset("json", data_files=str(nemo), split="train")
    for ex in ds:
        assert ex["messages"][-1]["role"] == "assistant"
    checked.append(f"NeMo-RL {len(ds)} rows (load_dataset json, last message assistant)")

# LLaMA-Factory: src/llamafactory/data/converter.py SharegptDatasetConverter with the tags of dataset_info.json.
lf_dir = formats / "llamafactory"
if (lf_dir / "train.jsonl").exists():
    attr = json.loads((lf_dir / "dataset_info.json").read_text())["trajpipe_sft"]
    tags, cols = attr["tags"], attr["columns"]
    ds = load_dataset("json", data_files=str(lf_dir / attr["file_name"]), split="train")
    odd_tags = (tags["user_tag"], tags["observation_tag"])
    even_tags = (tags["assistant_tag"], tags["function_tag"])
    for ex in ds:
        msgs = ex[cols["messages"]]
        for i, m in enumerate(msgs):
            if m[tags["role_tag"]] not in (odd_tags, even_tags)[i % 2]:
                fail(f"LLaMA-Factory: invalid role tag at turn {i}")
        if len(msgs) % 2 != 0:
            fail("LLaMA-Factory: odd message count")
        for m in msgs:
            if m[tags["role_tag"]] == tags["function_tag"]:
                call = re.search(r"<tool_call>(.*?)</tool_call>", m[tags["content_tag"]], re.DOTALL)
                calls = json.loads(call.group(1))
                for c in calls if isinstance(calls, list) else [calls]:
                    json.dumps(c["arguments"])  # formatter.py: FunctionCall(tc["name"], json.dumps(tc["arguments"]))
                    if not isinstance(c["arguments"], dict):
                        fail("LLaMA-Factory: arguments are not an object")
    checked.append(f"LLaMA-Factory {len(ds)} rows (SharegptDatasetConverter alternation, FunctionFormatter calls)")

# TRL: trl/trainer/sft_trainer.py takes conversational prompt/completion with `tools` as a JSON string.
trl_file = formats / "trl" / "train.jsonl"
if trl_file.exists():
    ds = load_dataset("json", data_files=str(trl_file), split="train")
    try:
        from trl.data_utils import is_conversational
    except ImportError:
        is_conversational = None
    for ex in ds:
        if is_conversational and not is_conversational(ex):
            fail("TRL does not see a prompt/completion row as conversational")
        if len(ex["completion"]) != 1 or ex["completion"][0]["role"] != "assistant":
            fail("TRL: the completion is not one assistant turn")
        tools = json.loads(ex["tools"]) if isinstance(ex["tools"], str) else ex["tools"]
        render(ex["prompt"] + ex["completion"], tools)
    checked.append(f"TRL {len(ds)} rows ({'is_conversational' if is_conversational else 'TRL not installed'})")

if not checked:
    fail("no trainer format was written (formats.enabled is false?)")
print("formats check passed: " + "; ".join(checked))

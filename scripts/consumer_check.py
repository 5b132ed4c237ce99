#!/usr/bin/env python3
"""Proves that real consumers read trajpipe's shards: pyarrow, DuckDB, Hugging Face `datasets` and TRL.

Usage: python scripts/consumer_check.py <export dir>
Run by .ci/run when Python and the packages are available; the README's test command never needs it.
"""
import json
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from datasets import load_dataset


def fail(msg: str) -> None:
    print(f"consumer check FAILED: {msg}")
    sys.exit(1)


export = Path(sys.argv[1])
manifest = json.loads((export / "manifest.json").read_text())
shards = [export / o["path"] for o in manifest["outputs"]]
if not shards:
    fail("the export has no shards")

# 1. pyarrow: one schema for every shard, nested types as real lists of structs, counts as in the manifest.
schemas = [pq.read_schema(s) for s in shards]
if any(not s.equals(schemas[0]) for s in schemas):
    fail("shards do not share one schema (datasets would refuse to concatenate them)")
schema = schemas[0]
messages = schema.field("messages").type
if not pa.types.is_list(messages) or not pa.types.is_struct(messages.value_type):
    fail(f"messages is {messages}, not list<struct>")
tool_calls = messages.value_type.field("tool_calls").type
if not pa.types.is_list(tool_calls) or not pa.types.is_struct(tool_calls.value_type):
    fail(f"messages.tool_calls is {tool_calls}, not list<struct>")
if schema.field("id").nullable or not schema.field("teacher_model").nullable:
    fail("nullability differs from the declared schema")
table = pa.concat_tables([pq.read_table(s) for s in shards])
if table.num_rows != manifest["records_out"]:
    fail(f"pyarrow reads {table.num_rows} rows, the manifest says {manifest['records_out']}")
arrow_rows = sorted(table.to_pylist(), key=lambda r: r["id"])

# 2. DuckDB (an independent C++ reader) returns the same values.
con = duckdb.connect()
glob = str(export / "data" / "*.parquet")
cur = con.execute(f"SELECT * FROM read_parquet('{glob}') ORDER BY id")
cols = [d[0] for d in cur.description]
duck_rows = [dict(zip(cols, r)) for r in cur.fetchall()]
if duck_rows != arrow_rows:
    fail("DuckDB and pyarrow disagree on the rows")

# 3. Hugging Face datasets, as a trainer would load it.
ds = load_dataset("parquet", data_files=[str(s) for s in shards], split="train")
if ds.num_rows != table.num_rows:
    fail(f"datasets reads {ds.num_rows} rows")
feat = ds.features["messages"]
ds_rows = sorted(ds.to_list(), key=lambda r: r["id"])
if ds_rows != arrow_rows:
    fail("datasets and pyarrow disagree on the rows")

# 4. Loss flags: set on assistant turns only; every row trains something.
for r in arrow_rows:
    for i, m in enumerate(r["messages"]):
        if (m["role"] == "assistant") != (m["loss"] is not None):
            fail(f"row {r['id']} message {i} ({m['role']}) has loss={m['loss']}")
    if not any(m["loss"] for m in r["messages"]):
        fail(f"row {r['id']} trains no turn")

# 5. TRL: the rows are conversational data that its chat-template path accepts.
try:
    from trl.data_utils import is_conversational, maybe_apply_chat_template
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
except ImportError as e:  # TRL is optional for this check
    print(f"TRL not installed ({e}); skipped the TRL part")
else:
    tok = Tokenizer(models.WordLevel(vocab={"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}"
        "{% if m['tool_calls'] %}{% for c in m['tool_calls'] %}<call>{{ c['function']['name'] }} {{ c['function']['arguments'] }}</call>{% endfor %}{% endif %}"
        "\n{% endfor %}"
    )
    for r in ds_rows:
        example = {"messages": r["messages"]}
        if not is_conversational(example):
            fail(f"TRL does not see row {r['id']} as conversational")
        text = maybe_apply_chat_template(example, tokenizer)["text"]
        if text.count("<|assistant|>") != sum(m["role"] == "assistant" for m in r["messages"]):
            fail(f"TRL's chat template lost turns of row {r['id']}")
    print(f"TRL: {len(ds_rows)} rows are conversational and render through a chat template")

# 6. Trainer formats written beside the export, read back as each trainer's loader does.
if (export.parent / "formats" / "manifest.json").exists():
    import subprocess

    r = subprocess.run([sys.executable, str(Path(__file__).with_name("formats_check.py")), str(export.parent)])
    if r.returncode != 0:
        fail("the trainer formats check failed")

trained = sum(bool(m["loss"]) for r in arrow_rows for m in r["messages"])
print(f"consumer check passed: {len(shards)} shard(s), {table.num_rows} rows, {trained} trained turns; "
      f"pyarrow == DuckDB == datasets; datasets features: messages={type(feat).__name__}")

#!/usr/bin/env python3
"""Golden token ids and trained-token masks for the tokenize stage, from Python transformers.

Usage:
  python scripts/golden_tokenize.py write <fixture.json> <tokenizer dir>... --export NAME=DIR...
      Reads the rows of each export folder's shards, renders them with each tokenizer folder's chat
      template through transformers' apply_chat_template(messages, tools=..., tokenize=True), and writes
      the rows with the expected input_ids and trained-token runs (test/tokenize/ compares against it).
  python scripts/golden_tokenize.py check <fixture.json> <tokenizer dir>...
      Recomputes the expected ids for the rows in the fixture and fails if they differ (CI runs this
      when Python is present, so the committed ids cannot drift from what transformers does).

The mask reference is independent of the stage's own span finder: a copy of each chat template with
{% generation %} tags around the trained part of an assistant turn (after its opening, up to and
including its end-of-turn token), read back with transformers' return_assistant_tokens_mask. The tagged
copy must render to exactly the same text as the original, which the script asserts.
"""
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
from transformers import AutoTokenizer


def fail(msg: str) -> None:
    print(f"golden_tokenize FAILED: {msg}")
    sys.exit(1)


# --- generation-tagged copies of the templates the golden test covers -------------------------------

def tag_qwen3(src: str) -> str:
    """Qwen3: the opening '<|im_start|>assistant\\n' is the prompt; the think block, content, tool calls and '<|im_end|>' are trained."""
    reps = [
        ('{%- elif message.role == "assistant" %}',
         '{%- elif message.role == "assistant" %}\n        {{- \'<|im_start|>\' + message.role + \'\\n\' }}{% generation %}'),
        ("{{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content", "{{- '<think>\\n' + reasoning_content"),
        ("{{- '<|im_start|>' + message.role + '\\n' + content }}", "{{- content }}"),
        ("{{- '<|im_end|>\\n' }}\n    {%- elif message.role == \"tool\" %}",
         "{{- '<|im_end|>' }}{% endgeneration %}{{- '\\n' }}\n    {%- elif message.role == \"tool\" %}"),
    ]
    for old, new in reps:
        if old not in src:
            fail(f"the Qwen3 template no longer contains {old!r}; update tag_qwen3")
        src = src.replace(old, new)
    return src


LLAMA3_TAGGED = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% if loop.index0 == 0 %}{{ bos_token }}{% endif %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] | trim + '<|eot_id|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] | trim + '<|eot_id|>' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


def tagged_template(tok) -> str:
    src = tok.chat_template
    if "<|im_start|>" in src and "reasoning_content" in src:
        return tag_qwen3(src)
    if "<|start_header_id|>" in src and "tool_calls" not in src:
        return LLAMA3_TAGGED
    fail("no generation-tagged copy of this chat template; add one to golden_tokenize.py")


# --- rows -> messages, the rule docs/tokenized.md states --------------------------------------------

def template_messages(messages, object_arguments: bool):
    out = []
    for m in messages:
        d = {"role": m["role"], "content": m["content"]}
        if m.get("reasoning_content") is not None:
            d["reasoning_content"] = m["reasoning_content"]
        if m.get("tool_calls"):
            calls = []
            for c in m["tool_calls"]:
                args = c["function"]["arguments"]
                if object_arguments:
                    try:
                        parsed = json.loads(args)
                        if isinstance(parsed, dict):
                            args = parsed
                    except ValueError:
                        pass
                calls.append({"id": c["id"], "type": c["type"], "function": {"name": c["function"]["name"], "arguments": args}})
            d["tool_calls"] = calls
        if m.get("tool_call_id") is not None:
            d["tool_call_id"] = m["tool_call_id"]
        if m.get("name") is not None:
            d["name"] = m["name"]
        out.append(d)
    return out


def runs(mask):
    """[start, end) of each run of ones."""
    out, start = [], None
    for i, v in enumerate(list(mask) + [0]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append([start, i])
            start = None
    return out


def expected(tok, tagged: str, row) -> dict:
    messages = template_messages(row["messages"], object_arguments=False)
    tools = json.loads(row["tools"]) if row["tools"] is not None else None
    enc = tok.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=True)
    ids = list(enc["input_ids"])
    text = tok.apply_chat_template(messages, tools=tools, tokenize=False)
    if tok.apply_chat_template(messages, tools=tools, tokenize=False, chat_template=tagged) != text:
        fail(f"row {row['id']}: the generation-tagged template renders differently from the original")
    tagged_enc = tok.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, chat_template=tagged)
    if list(tagged_enc["input_ids"]) != ids:
        fail(f"row {row['id']}: tagged and original token ids differ")
    turns = runs(tagged_enc["assistant_masks"])
    assistants = [m for m in row["messages"] if m["role"] == "assistant"]
    if len(turns) != len(assistants):
        fail(f"row {row['id']}: {len(turns)} generation runs for {len(assistants)} assistant messages")
    trained = [t for t, m in zip(turns, assistants) if m["loss"] is True]
    return {"input_ids": ids, "trained": trained}


def export_rows(folder: Path):
    manifest = json.loads((folder / "manifest.json").read_text())
    rows = []
    for o in manifest["outputs"]:
        for r in pq.read_table(folder / o["path"], columns=["id", "task_id", "outcome", "messages", "tools"]).to_pylist():
            for m in r["messages"]:
                m.pop("step_value", None)
            rows.append(r)
    return rows


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[1] not in ("write", "check"):
        fail(__doc__)
    mode, fixture = sys.argv[1], Path(sys.argv[2])
    args = sys.argv[3:]
    tok_dirs = [a for a in args if not a.startswith("--export") and "=" not in a]
    exports = [a.split("=", 1) for a in args if "=" in a]
    if mode == "write":
        rows = [{"variant": name, **r} for name, d in exports for r in export_rows(Path(d))]
    else:
        rows = json.loads(fixture.read_text())["rows"]
    result = {"note": "Written by scripts/golden_tokenize.py from Python transformers; do not edit by hand.", "tokenizers": {}, "rows": rows}
    for d in tok_dirs:
        tok = AutoTokenizer.from_pretrained(d)
        tagged = tagged_template(tok)
        name = Path(d).resolve().parent.name if Path(d).name == "models" else Path(d).name
        result["tokenizers"][name] = {
            "dir": d,
            "expected": {f"{r['variant']}/{r['id']}": expected(tok, tagged, r) for r in rows},
        }
    if mode == "write":
        import transformers
        result["transformers_version"] = transformers.__version__
        fixture.parent.mkdir(parents=True, exist_ok=True)
        fixture.write_text(json.dumps(result, ensure_ascii=False, separators=(",", ":")) + "\n")
        n = sum(len(t["expected"]) for t in result["tokenizers"].values())
        print(f"golden_tokenize: wrote {n} expected rows to {fixture}")
        return
    committed = json.loads(fixture.read_text())["tokenizers"]
    for name, t in result["tokenizers"].items():
        if name not in committed:
            fail(f"the fixture has no tokenizer {name}")
        for key, want in t["expected"].items():
            if committed[name]["expected"].get(key) != want:
                fail(f"{name} {key}: the committed ids or mask differ from what transformers gives now")
    print(f"golden_tokenize: the committed ids and masks equal transformers' for {len(rows)} rows x {len(result['tokenizers'])} tokenizers")


if __name__ == "__main__":
    main()

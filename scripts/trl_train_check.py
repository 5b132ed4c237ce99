#!/usr/bin/env python3
"""Trains on the tokenized shards with TRL's SFTTrainer, on CPU, with a tiny randomly initialised model.

Usage: python scripts/trl_train_check.py <tokenize dir> <tokenizer dir> [--packed]

Proves that a real trainer takes the shards as they are: SFTTrainer recognises them as pre-tokenized
(`input_ids`), uses their `labels` column as is, runs at least 2 optimiser steps, and the tokens that
carry loss in its batches (labels != -100 after its collator) add up to the trained-token total in the
stage's card (README.md). With --packed, the same for the packed shards, padding-free (position_ids
from `seq_lengths`; twice the time, so CI leaves it out). No download: the model is built from a Qwen2 config (hidden 32, 2 layers).
Run by .ci/run's consumer check when torch and trl install from the machine's package store.
"""
import json
import math
import re
import sys
import tempfile
import time
from pathlib import Path

import torch
from datasets import load_dataset
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
from trl import SFTConfig, SFTTrainer


def fail(msg: str) -> None:
    print(f"TRL training check FAILED: {msg}")
    sys.exit(1)


def card_total(card: str) -> tuple[int, int, int]:
    m = re.search(r"^\| \*\*total\*\* \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|$", card, re.M)
    if not m:
        fail("the tokenize card has no total row")
    rows, tokens, trained = (int(g.replace(",", "")) for g in m.groups())
    return rows, tokens, trained


def train(ds, tok, accumulation: int, padding_free: bool, out: Path):
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=8192, tie_word_embeddings=True,
    )
    model = Qwen2ForCausalLM(config)
    before = [p.detach().clone() for p in model.parameters()]
    counted = {"loss_tokens": 0, "batches": 0}
    args = SFTConfig(
        output_dir=str(out), per_device_train_batch_size=1, gradient_accumulation_steps=accumulation, num_train_epochs=1, max_length=None,
        learning_rate=1e-3, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True, seed=0,
        padding_free=padding_free, dataloader_drop_last=False, remove_unused_columns=False,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    collate = trainer.data_collator

    def counting(examples):
        batch = collate(examples)
        # The model shifts labels by one; the first label of every row is -100 (the prompt), so
        # shifted and unshifted counts agree and this is the number of tokens that carry loss.
        counted["loss_tokens"] += int((batch["labels"][:, 1:] != -100).sum())
        counted["batches"] += 1
        return batch

    trainer.data_collator = counting
    trainer.train()
    steps = trainer.state.global_step
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    moved = any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    return steps, losses, moved, counted


def main() -> None:
    stage, tok_dir = Path(sys.argv[1]), sys.argv[2]
    rows, tokens, trained = card_total((stage / "README.md").read_text())
    tok = AutoTokenizer.from_pretrained(tok_dir)
    t0 = time.time()

    ds = load_dataset("parquet", data_files=sorted(str(p) for p in (stage / "data").glob("*.parquet")), split="train")
    if ds.num_rows != rows:
        fail(f"datasets reads {ds.num_rows} rows, the card says {rows}")
    ds = ds.select_columns(["input_ids", "labels", "attention_mask"])
    # One row per micro-batch (the logits of a 151k vocabulary are the memory), accumulated so that one
    # epoch is 2 optimiser steps and every row is seen once.
    steps, losses, moved, counted = train(ds, tok, math.ceil(ds.num_rows / 2), False, Path(tempfile.mkdtemp(prefix="trl-")))
    if steps < 2:
        fail(f"SFTTrainer ran {steps} optimiser steps")
    if not moved or not all(math.isfinite(l) for l in losses):
        fail(f"training did not update the model or gave a non-finite loss ({losses})")
    if counted["loss_tokens"] != trained:
        fail(f"{counted['loss_tokens']} tokens carry loss in SFTTrainer's batches, the card says {trained} trained tokens")
    print(f"TRL SFTTrainer: {steps} steps on {rows} rows, losses {[round(l, 3) for l in losses]}, {counted['loss_tokens']} loss tokens = card's trained tokens")

    packed_dir = stage / "packed"
    if "--packed" in sys.argv and packed_dir.is_dir():
        pk = load_dataset("parquet", data_files=sorted(str(p) for p in packed_dir.glob("*.parquet")), split="train")
        pk = pk.select_columns(["input_ids", "labels", "seq_lengths"])
        n = pk.num_rows
        steps, losses, moved, counted = train(pk, tok, max(1, math.ceil(n / 2)), True, Path(tempfile.mkdtemp(prefix="trl-packed-")))
        if n >= 2 and steps < 2:
            fail(f"SFTTrainer ran {steps} optimiser steps on the packed shards")
        if counted["loss_tokens"] != trained:
            fail(f"packed: {counted['loss_tokens']} tokens carry loss, the card says {trained}")
        print(f"TRL SFTTrainer, padding-free on packed shards: {steps} steps on {n} sequences, {counted['loss_tokens']} loss tokens = card's trained tokens")
    print(f"TRL training check passed in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()

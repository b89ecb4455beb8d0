"""Offline builders for tiny byte-level BPE tokenizers (CLIP-style and GPT-2/Whisper/Qwen-style).
No network, no pretrained files: vocab = 256 byte symbols (+ optional </w> variants) + N learned merges."""
import json
import os
import re
from collections import Counter

CORPUS = """a photo of a cat sitting on the table. a dog running in the park at sunset.
the quick brown fox jumps over the lazy dog. hello world, this is a tiny test model.
a beautiful landscape with mountains and a river, cinematic lighting, high quality.
welcome to the show! today we talk about science, history and the future of video.
once upon a time there was a small robot who wanted to make movies for everyone.
scene one: the camera slowly zooms in on the city at night. narrator: it was late.
""" * 3

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, [chr(c) for c in cs]))

B2U = bytes_to_unicode()

def _learn(words: Counter, n_merges: int):
    """words: Counter of tuple-of-symbols -> freq. Classic BPE learning. Returns list of (a, b)."""
    words = Counter(words); merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, f in words.items():
            for i in range(len(w) - 1):
                pairs[(w[i], w[i + 1])] += f
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        new = Counter()
        for w, f in words.items():
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1]); i += 2
                else:
                    out.append(w[i]); i += 1
            new[tuple(out)] += f
        words = new
    return merges

def clip_vocab_merges(n_merges=300, corpus=CORPUS):
    base = [B2U[b] for b in range(256)]
    words = Counter()
    for w in re.findall(r"[a-z]+|[0-9]|[^\sa-z0-9]+", corpus.lower()):
        syms = [B2U[b] for b in w.encode()]
        syms[-1] = syms[-1] + "</w>"
        words[tuple(syms)] += 1
    merges = _learn(words, n_merges)
    vocab = {}
    for t in base + [c + "</w>" for c in base] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab.setdefault(t, len(vocab))
    return vocab, merges

def gpt2_vocab_merges(n_merges=300, corpus=CORPUS):
    """GPT-2 byte-level BPE (space encoded as 'Ġ' prefix), as used by Whisper, Qwen2, GPT-2, Llama-3-style."""
    base = [B2U[b] for b in range(256)]
    words = Counter()
    for w in re.findall(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+""", corpus):
        words[tuple(B2U[b] for b in w.encode())] += 1
    merges = _learn(words, n_merges)
    vocab = {}
    for t in base + ["".join(m) for m in merges]:
        vocab.setdefault(t, len(vocab))
    return vocab, merges

def write_vocab_merges(d, vocab, merges):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n")

def write_clip_tokenizer_dir(d, n_merges=300, model_max_length=77):
    """Writes exactly the files the real SD / SD-Turbo repos ship in tokenizer/: vocab.json, merges.txt,
    special_tokens_map.json, tokenizer_config.json."""
    vocab, merges = clip_vocab_merges(n_merges)
    write_vocab_merges(d, vocab, merges)
    eot = "<|endoftext|>"
    json.dump({"bos_token": "<|startoftext|>", "eos_token": eot, "pad_token": eot, "unk_token": eot},
              open(os.path.join(d, "special_tokens_map.json"), "w"), indent=2)
    json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": model_max_length,
               "bos_token": "<|startoftext|>", "eos_token": eot, "pad_token": eot, "unk_token": eot,
               "do_lower_case": True, "errors": "replace", "add_prefix_space": False},
              open(os.path.join(d, "tokenizer_config.json"), "w"), indent=2)
    return vocab

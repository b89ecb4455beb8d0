"""A tiny random-weight XTTS-v2 in the on-disk layout of the coqui/XTTS-v2 Hub repo.

The folder holds what the loader reads from a real download: ``config.json``, ``model.pth`` (``{"model": state_dict}``),
``vocab.json`` (a ``tokenizers`` BPE file with XTTS's special tokens) and ``speakers_xtts.pth`` (the built-in voices).
The real repo also ships ``dvae.pth`` and ``mel_stats.pth``; only fine-tuning reads them, so they are left out.

Only the GPT is shrunk. ``Xtts`` builds its HiFi-GAN decoder and speaker encoder at their fixed real sizes (no config
knob reaches them), so those 22 M random parameters are nearly all of the size; they are stored as float16 (the loader
casts them back into the float32 model) to halve the file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# XttsConfig().languages, as the tokenizer spells them ("[zh-cn]")
LANGUAGES = ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi"]
# Each generated code is 1024 samples at 22.05 kHz (46 ms). 32 audio positions leave 29 generated codes: random weights
# rarely pick the stop code, so a sentence lasts up to 1.35 s and decodes in well under a second on CPU.
MAX_AUDIO_TOKENS = 32
SPEAKERS = ("Claribel Dervla", "Daisy Studious")  # two of the real file's names
_CORPUS = [
    "hello there. this is a tiny test of voice cloning, and it should be quick!",
    "wake up early and drink water; walk for ten minutes in the sun.",
    "the quick brown fox jumps over the lazy dog? yes: 0 1 2 3 4 5 6 7 8 9 - it's \"fine\" (really).",
]


def build_xtts_vocab(path: Path) -> Path:
    """An XTTS ``vocab.json``: byte-free BPE over lower-case text, [STOP]=0, [UNK]=1, [SPACE]=2, language tags, [START]."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    specials = ["[STOP]", "[UNK]", "[SPACE]"] + [f"[{c}]" for c in LANGUAGES] + ["[START]"]
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    alphabet = sorted(set("".join(_CORPUS)) - {" "} | set("abcdefghijklmnopqrstuvwxyz0123456789"))
    trainer = trainers.BpeTrainer(vocab_size=160, special_tokens=specials, initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(_CORPUS, trainer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))
    return path


def build_xtts(out: Path) -> Path:
    """Save a tiny XTTS-v2 (perceiver conditioning, 1026 audio codes, 24 kHz decoder) as a Hub-style folder."""
    import torch
    from tokenizers import Tokenizer
    from TTS.tts.configs.xtts_config import XttsArgs, XttsAudioConfig, XttsConfig
    from TTS.tts.models.xtts import Xtts

    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    vocab = build_xtts_vocab(out / "vocab.json")
    dim = 32
    # The real XTTS-v2 config.json, but for the GPT's size and its longest generation. As there, the text start and
    # stop ids are left empty: the loader reads them from vocab.json.
    args = XttsArgs(gpt_layers=1, gpt_n_model_channels=dim, gpt_n_heads=2, gpt_max_audio_tokens=MAX_AUDIO_TOKENS,
                    gpt_max_text_tokens=402, gpt_max_prompt_tokens=70,
                    gpt_number_text_tokens=max(Tokenizer.from_file(str(vocab)).get_vocab().values()) + 1,
                    gpt_num_audio_tokens=1026, gpt_start_audio_token=1024, gpt_stop_audio_token=1025,
                    gpt_code_stride_len=1024, gpt_use_masking_gt_prompt_approach=True, gpt_use_perceiver_resampler=True,
                    input_sample_rate=22050, output_sample_rate=24000, output_hop_length=256, decoder_input_dim=dim,
                    d_vector_dim=512, cond_d_vector_in_each_upsampling_layer=True)
    config = XttsConfig(model_args=args, audio=XttsAudioConfig(sample_rate=22050, output_sample_rate=24000),
                        languages=list(LANGUAGES), temperature=0.75, length_penalty=1.0, repetition_penalty=5.0,
                        top_k=50, top_p=0.85, gpt_cond_len=30, gpt_cond_chunk_len=4, max_ref_len=30)
    torch.manual_seed(0)
    model = Xtts(config)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save({"model": state}, out / "model.pth")
    config.save_json(str(out / "config.json"))
    # speakers_xtts.pth maps each built-in voice to its GPT conditioning latents and its decoder speaker embedding
    speakers = {name: {"gpt_cond_latent": torch.randn(1, 32, dim), "speaker_embedding": torch.randn(1, 512, 1)}
                for name in SPEAKERS}
    torch.save(speakers, out / "speakers_xtts.pth")
    return out

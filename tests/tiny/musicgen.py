"""A tiny random-weight MusicGen in the on-disk layout of the facebook/musicgen-small Hub repo.

The folder holds what ``MusicgenForConditionalGeneration.from_pretrained`` and ``AutoProcessor.from_pretrained``
read from a real download: ``config.json`` (a T5 text encoder, an EnCodec audio encoder and the MusicGen decoder),
``generation_config.json``, ``model.safetensors``, ``preprocessor_config.json`` (the EnCodec feature extractor) and
the T5 tokenizer (``tokenizer.json`` + ``tokenizer_config.json``). The real repo also ships ``spiece.model`` for the
sentencepiece tokenizer; ``transformers`` 5 reads ``tokenizer.json`` instead, so a Unigram model trained offline by
``tokenizers`` stands in for it (no sentencepiece needed).

What keeps the real numbers: 32 kHz audio, EnCodec hop 640 (50 frames a second), 4 codebooks with the delay
pattern, the decoder's start/pad code one past the codebook, and the real generation defaults (sampling, guidance
3.0, top-k 250). What is shrunk: every width and depth, the codebook (64 codes), and ``max_length`` (the window
the model generates in one go): 54 tokens, about one second, so a 2.3 s track already needs several pieces.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

RATE = 32000
FRAME_RATE = 50  # 32000 / (8·5·4·4)
CODES = 64
CODEBOOKS = 4
MAX_LENGTH = 54
_CORPUS = [
    "calm lo-fi instrumental, 90 bpm, no vocals",
    "upbeat pop instrumental with drums and bass, 120 bpm, no vocals",
    "a quiet piano melody for a short video, warm and slow",
    "energetic electronic music 128 bpm",
]


def build_t5_tokenizer():
    """A T5 tokenizer (Unigram, ``</s>`` appended, 100 sentinels) trained offline on a few music prompts."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import T5Tokenizer

    unigram = Tokenizer(models.Unigram())
    unigram.pre_tokenizer = pre_tokenizers.Metaspace()
    alphabet = sorted(set("".join(_CORPUS)) | set("abcdefghijklmnopqrstuvwxyz0123456789,.-"))
    trainer = trainers.UnigramTrainer(vocab_size=160, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                      initial_alphabet=alphabet, show_progress=False)
    unigram.train_from_iterator(_CORPUS * 4, trainer)
    vocab = [(piece, float(score)) for piece, score in json.loads(unigram.to_str())["model"]["vocab"]]
    # the ids T5 expects: <pad>=0, </s>=1, <unk>=2, the pieces, then <extra_id_99> … <extra_id_0>
    vocab += [(f"<extra_id_{i}>", 0.0) for i in range(99, -1, -1)]
    return T5Tokenizer(vocab=vocab, extra_ids=100, model_max_length=512)


def build_musicgen(out: Path) -> Path:
    """Save a tiny MusicGen (mono, 32 kHz, 4 codebooks of 64 codes) as a facebook/musicgen-small-style folder."""
    import torch
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        GenerationConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    tokenizer = build_t5_tokenizer()
    text = T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                    relative_attention_num_buckets=8, feed_forward_proj="relu")
    # num_quantizers = 1000·bandwidth // (frame_rate·log2(codes)) = 1200 // 300 = 4 codebooks, as in the real one
    audio = EncodecConfig(sampling_rate=RATE, audio_channels=1, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[1.2],
                          codebook_size=CODES, hidden_size=16, num_filters=2, num_residual_layers=1, num_lstm_layers=1,
                          use_causal_conv=False, norm_type="weight_norm", normalize=False)
    assert audio.num_quantizers == CODEBOOKS and audio.frame_rate == FRAME_RATE
    decoder = MusicgenDecoderConfig(vocab_size=CODES, max_position_embeddings=256, num_hidden_layers=1, ffn_dim=32,
                                    num_attention_heads=2, hidden_size=16, num_codebooks=CODEBOOKS, audio_channels=1,
                                    pad_token_id=CODES, bos_token_id=CODES)
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder))
    # EnCodec starts its codebooks at zero (training fills them), which would decode every code to the same sound
    # and make the audio deaf to the sampled tokens; a trained codebook has distinct vectors, so random ones stand in
    with torch.no_grad():
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
    model.generation_config = GenerationConfig(do_sample=True, guidance_scale=3.0, max_length=MAX_LENGTH, top_k=250,
                                               decoder_start_token_id=CODES, pad_token_id=CODES, bos_token_id=CODES)
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out)
    # the processor's two halves saved apart, as the real repo has them (no processor_config.json)
    features = EncodecFeatureExtractor(feature_size=1, sampling_rate=RATE, padding_value=0.0, padding_side="left")
    features.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out

"""Tiny random-weight models built offline and saved in each family's real on-disk layout.

Written from the recipes in shared/tiny_models (TINY_MODELS.md). Each builder takes an output folder and
returns it; the tests then load it through exactly the call a user's real model takes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.tiny import tinytok
from tests.tiny.xtts import build_xtts

__all__ = ["as_hub_repo", "build_coqui_vits", "build_llm", "build_open_clip", "build_sd_turbo", "build_svd",
           "build_whisper", "build_xtts"]


def build_llm(out: Path) -> Path:
    """Qwen2-architecture chat model with a ChatML template (like Qwen2.5-Instruct)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM, Qwen2Tokenizer

    template = (
        "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + "
        "'<|im_end|>\\n' }}{%- endif %}{%- for message in messages %}{%- if not (message.role == 'system' and "
        "loop.first) %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
        "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}")
    vocab, merges = tinytok.gpt2_vocab_merges(300)
    for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]:
        vocab[t] = len(vocab)
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, eos_token="<|im_end|>",
                         pad_token="<|endoftext|>", bos_token=None, model_max_length=2048, errors="replace")
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.chat_template = template
    size = ((len(tok) + 63) // 64) * 64
    cfg = Qwen2Config(vocab_size=size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      tie_word_embeddings=True, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg)
    model.generation_config = GenerationConfig(eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def build_open_clip(out: Path) -> Path:
    """A small CLIP in the Hub layout open_clip reads with ``local-dir:`` (open_clip_config.json + safetensors)."""
    import open_clip
    import safetensors.torch
    import torch
    from open_clip.push_to_hf_hub import save_config_for_hf

    cfg = {"embed_dim": 32,
           "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}
    cfg_dir = out.parent / "_openclip_cfgs"
    cfg_dir.mkdir(parents=True, exist_ok=True)
    (cfg_dir / "tiny-ViT-test.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(cfg_dir)
    torch.manual_seed(0)
    model, _, _ = open_clip.create_model_and_transforms("tiny-ViT-test", pretrained=None)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    safetensors.torch.save_file(model.state_dict(), str(out / "open_clip_model.safetensors"))
    save_config_for_hf(model, out / "open_clip_config.json", model_config=cfg)
    return out


def build_coqui_vits(out: Path) -> Path:
    """A Coqui VITS checkpoint folder (model.pth + config.json), graphemes so no phonemiser is needed."""
    import torch
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    config = VitsConfig(
        audio=BaseAudioConfig(sample_rate=22050, fft_size=1024, win_length=1024, hop_length=256, num_mels=80,
                              mel_fmin=0, mel_fmax=None),
        model_args=VitsArgs(hidden_channels=16, hidden_channels_ffn_text_encoder=32, num_heads_text_encoder=2,
                            num_layers_text_encoder=1, kernel_size_text_encoder=3, num_layers_posterior_encoder=1,
                            kernel_size_posterior_encoder=3, num_layers_flow=1, kernel_size_flow=3,
                            resblock_type_decoder="1", resblock_kernel_sizes_decoder=[3],
                            resblock_dilation_sizes_decoder=[[1, 3, 5]], upsample_rates_decoder=[8, 8, 4],
                            upsample_kernel_sizes_decoder=[16, 16, 8], upsample_initial_channel_decoder=32,
                            use_sdp=False, init_discriminator=False),
        use_phonemes=False, text_cleaner="english_cleaners", add_blank=True, run_name="vits_tiny", output_path=str(out))
    torch.manual_seed(0)
    model = Vits.init_from_config(config)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    torch.save({"model": model.state_dict(), "step": 0, "epoch": 0}, out / "model.pth")
    config.save_json(str(out / "config.json"))
    return out


def build_sd_turbo(out: Path) -> Path:
    """An SD-Turbo-shaped text-to-image pipeline (fp16 variant saved first, fp32 last, as the Hub repo has)."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPImageProcessor, CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    tokdir = out.parent / "_cliptok"
    vocab = tinytok.write_clip_tokenizer_dir(str(tokdir))
    tokenizer = CLIPTokenizer.from_pretrained(tokdir)
    torch.manual_seed(0)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=2,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        block_out_channels=(4, 4, 8, 8), layers_per_block=1, sample_size=64)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=37,
                                        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
                                        projection_dim=32, hidden_act="gelu", bos_token_id=vocab["<|startoftext|>"],
                                        eos_token_id=vocab["<|endoftext|>"], pad_token_id=vocab["<|endoftext|>"]))
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), block_out_channels=(4, 8),
                                layers_per_block=1, norm_num_groups=2, cross_attention_dim=32, attention_head_dim=2)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       num_train_timesteps=1000, prediction_type="epsilon", steps_offset=1,
                                       timestep_spacing="trailing")
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=CLIPImageProcessor(size={"shortest_edge": 224}),
                                   requires_safety_checker=False)
    shutil.rmtree(out, ignore_errors=True)
    pipe.to(torch.float16).save_pretrained(out, variant="fp16")
    pipe.to(torch.float32).save_pretrained(out)
    shutil.rmtree(out / "tokenizer")
    tinytok.write_clip_tokenizer_dir(str(out / "tokenizer"))
    index = json.loads((out / "model_index.json").read_text())
    if index.get("feature_extractor", [None, None])[1] == "CLIPImageProcessorPil":
        index["feature_extractor"][1] = "CLIPImageProcessor"
        (out / "model_index.json").write_text(json.dumps(index, indent=2))
    return out


def build_whisper(out: Path) -> Path:
    """A random Whisper in the real large-v3 token layout, converted to CTranslate2 as faster-whisper repos are."""
    import torch
    from ctranslate2.converters import TransformersConverter
    from tokenizers import AddedToken
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizer,
    )
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    vocab, merges = tinytok.gpt2_vocab_merges(300)
    i = 0
    while len(vocab) < 50256:  # filler so ids match real Whisper (eot = 50257)
        vocab.setdefault("Ġfill" + format(i, "x"), len(vocab))
        i += 1
    vocab[""] = len(vocab)  # CTranslate2 treats a Whisper as multilingual only if "" is in the vocabulary
    specials = (["<|endoftext|>", "<|startoftranscript|>"] + [f"<|{c}|>" for c in LANGUAGES] +
                ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
                 "<|notimestamps|>"])
    base = dict(vocab)
    base["<|endoftext|>"] = len(base)
    tok = WhisperTokenizer(vocab=base, merges=merges, unk_token="<|endoftext|>", bos_token="<|endoftext|>",
                           eos_token="<|endoftext|>", pad_token="<|endoftext|>", model_max_length=448)
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in specials[1:]], special_tokens=True)
    tok.add_tokens([AddedToken("<|%.2f|>" % (k * 0.02), special=False, normalized=False) for k in range(1501)])
    ids = {t: tok.convert_tokens_to_ids(t) for t in specials}
    sot, eot = ids["<|startoftranscript|>"], ids["<|endoftext|>"]
    cfg = WhisperConfig(vocab_size=len(tok), num_mel_bins=80, d_model=32, encoder_layers=1, decoder_layers=2,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_source_positions=1500, max_target_positions=448, decoder_start_token_id=sot,
                        bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,
                        begin_suppress_tokens=[tok.convert_tokens_to_ids("Ġ"), eot], suppress_tokens=[])
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(cfg).eval()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot, max_length=448,
        begin_suppress_tokens=cfg.begin_suppress_tokens, suppress_tokens=[],
        no_timestamps_token_id=ids["<|notimestamps|>"], prev_sot_token_id=ids["<|startofprev|>"],
        is_multilingual=True, lang_to_id={f"<|{c}|>": ids[f"<|{c}|>"] for c in LANGUAGES},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        alignment_heads=[[1, 0], [1, 1]], forced_decoder_ids=None, return_timestamps=False)
    hf = out.parent / (out.name + "-hf")
    shutil.rmtree(hf, ignore_errors=True)
    model.save_pretrained(hf)
    tok.save_pretrained(hf)
    WhisperFeatureExtractor(feature_size=80, sampling_rate=16000, hop_length=160, chunk_length=30,
                            n_fft=400).save_pretrained(hf)
    TransformersConverter(str(hf), copy_files=["tokenizer.json", "preprocessor_config.json"]).convert(
        str(out), quantization="float16", force=True)
    return out


def as_hub_repo(src: Path, cache_dir: Path, repo_id: str, revision: str = "main") -> str:
    """Lay a folder out as a Hugging Face Hub cache snapshot, so it loads by repo id with HF_HUB_OFFLINE=1."""
    commit = "0" * 40
    repo = cache_dir / ("models--" + repo_id.replace("/", "--"))
    snap = repo / "snapshots" / commit
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(src, snap)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / revision).write_text(commit)
    return repo_id


def build_svd(out: Path) -> Path:
    """A Stable-Video-Diffusion-shaped image-to-video pipeline (4 frames, 64 px), fp16 variant then fp32."""
    import torch
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(
        sample_size=8, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"), block_out_channels=(32, 64),
        layers_per_block=1, cross_attention_dim=32, num_attention_heads=(2, 4), addition_time_embed_dim=32,
        projection_class_embeddings_input_dim=3 * 32, num_frames=4)
    vae = AutoencoderKLTemporalDecoder(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                                       block_out_channels=(32, 32, 32, 32), layers_per_block=1, latent_channels=4,
                                       sample_size=64)
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=32, projection_dim=32, num_hidden_layers=2,
                                                             num_attention_heads=4, intermediate_size=37,
                                                             image_size=224, patch_size=32))
    scheduler = EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                       interpolation_type="linear", num_train_timesteps=1000,
                                       prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
                                       steps_offset=1, timestep_spacing="leading", timestep_type="continuous",
                                       use_karras_sigmas=True)
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                                             crop_size={"height": 32, "width": 32}))
    shutil.rmtree(out, ignore_errors=True)
    pipe.to(torch.float16).save_pretrained(out, variant="fp16")
    pipe.to(torch.float32).save_pretrained(out)
    index = json.loads((out / "model_index.json").read_text())
    if index.get("feature_extractor", [None, None])[1] == "CLIPImageProcessorPil":
        index["feature_extractor"][1] = "CLIPImageProcessor"
        (out / "model_index.json").write_text(json.dumps(index, indent=2))
    return out

"""Tiny random models of several chat families, saved as transformers folders and as GGUF files.

Every family's tokenizer is SmolLM2's byte-level BPE (tests/fixtures/smollm2-tokenizer), cut to its first
4,096 tokens, with its first special tokens renamed to the family's own (``<|eot_id|>``, ``<start_of_turn>``, ``[INST]``...) and the
family's chat template, so ordinary text tokenises identically everywhere and only the chat layout,
special tokens and end of turn differ. Real Gemma and Mistral tokenizers are SentencePiece; the chat
format, not the merge table, is what format resolution reads.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import SMOL_TOKENIZER

VOCAB = 4096  # SmolLM2's first 4,096 tokens (specials, the 256 bytes, the most frequent merges): fast models

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
LLAMA3 = (
    "{{ bos_token }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n'"
    " + m['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
GEMMA = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + m['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
MISTRAL = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
    "{% else %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}"
)
MAGISTRAL = (
    "{{ bos_token }}{{ '[SYSTEM_PROMPT]First draft your thinking process inside [THINK] ... [/THINK], "
    "then answer.[/SYSTEM_PROMPT]' }}{% for m in messages %}{% if m['role'] == 'user' %}"
    "{{ '[INST]' + m['content'] + '[/INST]' }}{% elif m['role'] == 'assistant' %}"
    "{{ m['content'] + eos_token }}{% endif %}{% endfor %}"
)
# Opens <think> in its own generation prompt, as DeepSeek-R1-distill's and QwQ's templates do; strips the
# thinking from past answers (loop controls and a namespace, as the real ones do).
THINK_OPEN = (
    "{% set ns = namespace(n=0) %}{% for m in messages %}{% if m['role'] == 'system' %}{% continue %}{% endif %}"
    "{% set ns.n = ns.n + 1 %}{% set content = m['content'].split('</think>')[-1] if m['role'] == 'assistant'"
    " else m['content'] %}{{ '<|im_start|>' + m['role'] + '\n' + content + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n<think>\n' }}{% endif %}"
)
# Qwen3's switch: thinking unless enable_thinking is false (then an empty, closed thinking section).
QWEN3 = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% if enable_thinking is defined and enable_thinking is false %}{{ '<think>\n\n</think>\n\n' }}{% endif %}"
    "{% endif %}"
)
HARMONY = (
    "{{ '<|start|>system<|message|>Reasoning: medium\n# Valid channels: analysis, commentary, final.<|end|>' }}"
    "{% for m in messages %}{% if m['role'] == 'assistant' %}"
    "{{ '<|start|>assistant<|channel|>final<|message|>' + m['content'] }}"
    "{% if loop.last and not add_generation_prompt %}{{ '<|return|>' }}{% else %}{{ '<|end|>' }}{% endif %}"
    "{% else %}{{ '<|start|>' + m['role'] + '<|message|>' + m['content'] + '<|end|>' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start|>assistant' }}{% endif %}"
)


@dataclass(frozen=True)
class Family:
    """A chat family: special tokens (ids 0.. of the BPE vocabulary), roles and template."""

    name: str
    specials: tuple[str, ...]
    template: str | None
    bos: str | None
    eos: str
    pad: str | None = None
    expected_format: str = "r1"
    end_of_turn: tuple[str, ...] = ()  # what the chat template writes after an answer
    added: tuple[str, ...] = field(default=())  # non-special added tokens (ids after the specials)


FAMILIES = {
    f.name: f
    for f in (
        Family(
            "chatml",
            ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
            CHATML,
            None,
            "<|im_end|>",
            end_of_turn=("<|im_end|>",),
        ),
        Family(
            "llama3",
            (
                "<|begin_of_text|>",
                "<|end_of_text|>",
                "<|start_header_id|>",
                "<|end_header_id|>",
                "<|eot_id|>",
            ),
            LLAMA3,
            "<|begin_of_text|>",
            "<|end_of_text|>",
            end_of_turn=("<|eot_id|>",),
        ),
        Family(
            "gemma",
            ("<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"),
            GEMMA,
            "<bos>",
            "<eos>",
            pad="<pad>",
            end_of_turn=("<end_of_turn>",),
        ),
        Family(
            "mistral",
            ("<unk>", "<s>", "</s>", "[INST]", "[/INST]"),
            MISTRAL,
            "<s>",
            "</s>",
            end_of_turn=("</s>",),
        ),
        Family(
            "magistral",
            (
                "<unk>",
                "<s>",
                "</s>",
                "[INST]",
                "[/INST]",
                "[THINK]",
                "[/THINK]",
                "[SYSTEM_PROMPT]",
                "[/SYSTEM_PROMPT]",
            ),
            MAGISTRAL,
            "<s>",
            "</s>",
            expected_format="magistral",
            end_of_turn=("</s>",),
        ),
        Family("base", ("<|endoftext|>", "<|reserved_1|>", "<|reserved_2|>"), None, None, "<|endoftext|>"),
        Family(
            "think-open",
            ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
            THINK_OPEN,
            None,
            "<|im_end|>",
            end_of_turn=("<|im_end|>",),
            added=("<think>", "</think>"),
        ),
        Family(
            "qwen3",
            ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
            QWEN3,
            None,
            "<|im_end|>",
            expected_format="qwen3",
            end_of_turn=("<|im_end|>",),
            added=("<think>", "</think>"),
        ),
        Family(
            "harmony",
            ("<|endoftext|>", "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|return|>", "<|call|>"),
            HARMONY,
            None,
            "<|return|>",
            expected_format="gpt-oss",
            end_of_turn=("<|return|>", "<|end|>"),
        ),
    )
}


def write_tokenizer(family: Family, out: Path) -> Path:
    """The family's tokenizer folder: SmolLM2's BPE with ids 0.. renamed to the family's tokens."""
    out.mkdir(parents=True, exist_ok=True)
    data = json.loads((SMOL_TOKENIZER / "tokenizer.json").read_text())
    vocab = {t: i for t, i in data["model"]["vocab"].items() if i < VOCAB}
    data["model"]["vocab"] = vocab
    # The merges that build kept tokens from kept tokens, in rank order (every byte is kept: ids 17-272).
    data["model"]["merges"] = [
        m for m in data["model"]["merges"] if m[0] in vocab and m[1] in vocab and m[0] + m[1] in vocab
    ]
    by_id = {i: t for t, i in vocab.items()}
    names = list(family.specials) + list(family.added)
    kept = []
    for tok in data["added_tokens"]:
        i = tok["id"]
        if i < len(names):
            del vocab[by_id[i]]
            vocab[names[i]] = i
            kept.append({**tok, "content": names[i], "special": i < len(family.specials)})
        else:  # SmolLM2's other specials (code markers: <file_sep>...) stay
            kept.append(tok)
    data["added_tokens"] = kept
    (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": family.bos,
        "eos_token": family.eos,
        "pad_token": family.pad or family.eos,
        "unk_token": None,
        "add_bos_token": family.bos is not None,
        "model_max_length": 1024,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config))
    if family.template is not None:
        (out / "chat_template.jinja").write_text(family.template)
    if family.bos is not None:  # a post-processor that adds BOS, as these families' tokenizers do
        bos_id = names.index(family.bos)
        data["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": family.bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": family.bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {family.bos: {"id": family.bos, "ids": [bos_id], "tokens": [family.bos]}},
        }
        (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False))
    return out


def build_model_folder(family: Family, out: Path, *, seed: int = 0, hidden: int = 64) -> Path:
    """A 2-layer random Llama with the family's tokenizer, saved as a transformers folder."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    write_tokenizer(family, out)
    tok = AutoTokenizer.from_pretrained(out)
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=False,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
    )
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)  # sharper distributions than the near-uniform init
        # Attempts to stop must come early, so budgets are exercised: the end-of-turn row points along
        # the mean final hidden state of greedy rollouts after chat prompts, scaled up until greedy
        # decoding writes it within 24 tokens after every one of those prompts.
        prompts = []
        for q in ("What is 2+2?", "Name a prime number.", "Why is the sky blue?"):
            chat = [{"role": "user", "content": q}]
            text = (
                tok.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
                if family.template
                else q
            )
            prompts.append(torch.tensor([tok.encode(text + "\n\n<think>\n", add_special_tokens=False)]))
        hidden = []
        for ids in prompts:
            written = _greedy(model, ids, 32)
            hidden.append(model(written, output_hidden_states=True).hidden_states[-1][0, ids.shape[1] - 1 :])
        h = torch.cat(hidden)  # after the final norm
        u = h.mean(0) / h.mean(0).norm()
        eot = tok.convert_tokens_to_ids((family.end_of_turn or (family.eos,))[0])
        alpha = float((h @ u).abs().mean()) ** -1 * float(model.lm_head.weight.norm(dim=1).mean()) * 4
        for _ in range(40):
            model.lm_head.weight[eot] = alpha * u
            if all(eot in _greedy(model, ids, 24)[0, ids.shape[1] :].tolist() for ids in prompts):
                break
            alpha *= 1.2
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(out)
    return out


def _greedy(model, ids, n: int):
    mask = __import__("torch").ones_like(ids)
    return model.generate(ids, attention_mask=mask, max_new_tokens=n, do_sample=False, eos_token_id=None)


def _permute(w, n_head: int):
    """HF's q/k layout to llama.cpp's (as convert_hf_to_gguf.py does)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(folder: Path, out: Path) -> Path:
    """The folder's model as an F32 GGUF file (llama architecture, byte-level BPE vocabulary)."""
    import gguf
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    cfg = model.config
    data = json.loads((folder / "tokenizer.json").read_text())
    tconf = json.loads((folder / "tokenizer_config.json").read_text())
    vocab = data["model"]["vocab"]
    added = {t["id"]: t for t in data["added_tokens"]}
    n = cfg.vocab_size
    tokens = [""] * n
    for t, i in vocab.items():
        tokens[i] = t
    for i, t in added.items():
        tokens[i] = t["content"]
    types = [
        (gguf.TokenType.CONTROL if added[i]["special"] else gguf.TokenType.USER_DEFINED)
        if i in added
        else gguf.TokenType.NORMAL
        for i in range(n)
    ]
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    w = gguf.GGUFWriter(out, "llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_rope_freq_base(float(getattr(cfg, "rope_theta", None) or cfg.rope_parameters["rope_theta"]))
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(n)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    ids = {t: i for i, t in enumerate(tokens)}
    if tconf.get("bos_token"):
        w.add_bos_token_id(ids[tconf["bos_token"]])
    w.add_eos_token_id(ids[tconf["eos_token"]])
    w.add_pad_token_id(ids[tconf.get("pad_token") or tconf["eos_token"]])
    w.add_add_bos_token(bool(tconf.get("add_bos_token")))
    template = folder / "chat_template.jinja"
    if template.is_file():
        w.add_chat_template(template.read_text())
    sd = {k: v.float().numpy() for k, v in model.state_dict().items()}
    heads, kv = cfg.num_attention_heads, cfg.num_key_value_heads
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    w.add_tensor("output.weight", sd["lm_head.weight"])
    names = {
        "input_layernorm": "attn_norm",
        "self_attn.q_proj": "attn_q",
        "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "post_attention_layernorm": "ffn_norm",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
    }
    for i in range(cfg.num_hidden_layers):
        for hf, gg in names.items():
            t = sd[f"model.layers.{i}.{hf}.weight"]
            if gg == "attn_q":
                t = _permute(t, heads)
            elif gg == "attn_k":
                t = _permute(t, kv)
            w.add_tensor(f"blk.{i}.{gg}.weight", np.ascontiguousarray(t))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def copy_folder(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst

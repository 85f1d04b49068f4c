#!/usr/bin/env python
"""`make gpu-check`: steernb's checks for a GPU machine, in under 5 minutes, ending with one JSON line.

On a small Llama-shaped model with random weights (nothing to download; the machine may be offline), it:
1. loads the model in bfloat16 (and, when bitsandbytes is installed, in 4-bit from the same weights);
2. checks that per-row steering equals single-row steering (one batch of mixed configurations vs each row alone);
3. checks that 4-bit steered next-token distributions stay within a stated KL of bfloat16's;
4. times a steered sweep (one configuration per row) against an unsteered forward of the same batch;
5. when vLLM is installed, times vLLM steered generation against the transformers path (steernb.vllm_backend).
Without CUDA it prints "no CUDA: skipped" and exits 0. `--cpu` runs steps 1, 2 and 4 on a tiny CPU model, which is
how this script is itself tested on machines without a GPU.
"""
import argparse, json, sys, tempfile, time
from pathlib import Path

KL_LIMIT = 0.05   # nats: mean KL(4-bit steered || bf16 steered) of the next-token distributions must stay below


def build(dirname: Path, hidden: int, layers: int, vocab: int, dtype):
    "A random Llama-shaped checkpoint saved to `dirname`, with a tiny tokenizer, loaded back with steernb."
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig
    from steernb.models import load_model, tiny_tokenizer
    tok = tiny_tokenizer()
    cfg = LlamaConfig(hidden_size=hidden, intermediate_size=4 * hidden, num_hidden_layers=layers,
                      num_attention_heads=max(4, hidden // 128), num_key_value_heads=max(1, hidden // 512),
                      vocab_size=max(vocab, len(tok)), max_position_embeddings=512, pad_token_id=0, eos_token_id=2,
                      bos_token_id=1, architectures=['LlamaForCausalLM'])
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(cfg).to(dtype).save_pretrained(dirname)
    tok.save_pretrained(dirname)
    return load_model(str(dirname), dtype=dtype)


def rows_equal_alone(model, texts, rows) -> float:
    "Largest |logit| difference between rows steered in one batch and each row steered alone."
    from steernb.models import encode
    from steernb.steer import steered_logits
    batch = steered_logits(model, encode(model, texts), rows, last_only=True).float()
    alone = [steered_logits(model, encode(model, [t]), [r], last_only=True)[0].float() for t, r in zip(texts, rows)]
    return max(float((batch[i] - a).abs().max()) for i, a in enumerate(alone))


def timed(fn, repeats: int = 3) -> float:
    "Median wall time of `fn` after one warm-up call, synchronising CUDA."
    import statistics, torch
    fn()
    ts = []
    for _ in range(repeats):
        if torch.cuda.is_available(): torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available(): torch.cuda.synchronize()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def sweep_timing(model, texts, n_layers: int) -> dict:
    "Seconds of one steered sweep (every row its own layer and alpha) vs the unsteered forward of the same batch."
    import torch
    from steernb.models import encode, hidden_size
    from steernb.steer import Steer, steered_logits
    v = torch.randn(hidden_size(model), generator=torch.Generator().manual_seed(1))
    rows = [[Steer(v, 0.5 * (1 + i % 4), layer=i % n_layers)] for i in range(len(texts))]
    b = encode(model, texts)
    steered = timed(lambda: steered_logits(model, b, rows, last_only=True))
    plain = timed(lambda: steered_logits(model, b, None, last_only=True))
    return dict(sweep_s=round(steered, 4), unsteered_s=round(plain, 4), sweep_vs_unsteered=round(steered / plain, 3))


def kl_4bit(folder: Path, bf16_model, texts, rows) -> float:
    "Mean KL(4-bit || bf16) of the steered next-token distributions."
    from steernb.models import encode, load_model
    from steernb.steer import steered_logits
    q = load_model(str(folder), quantization='4bit')
    p = steered_logits(bf16_model, encode(bf16_model, texts), rows, last_only=True).float().log_softmax(-1)
    r = steered_logits(q, encode(q, texts), rows, last_only=True).float().log_softmax(-1)
    return float((r.exp() * (r - p.to(r.device))).sum(-1).mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--cpu', action='store_true', help='run the non-GPU steps on a tiny CPU model (self-test)')
    a = ap.parse_args(argv)
    import torch
    if not torch.cuda.is_available() and not a.cpu:
        print('no CUDA: skipped')
        print(json.dumps({'gpu_check': 'skipped', 'reason': 'no CUDA'}))
        return 0
    import steernb
    from steernb.core import device_name, env_record
    from steernb.steer import Steer
    t0 = time.time()
    hidden, n_layers, vocab = (2048, 16, 32000) if not a.cpu else (64, 3, 400)
    dtype = torch.bfloat16 if not a.cpu else torch.float32
    texts = ['the quick brown fox jumps over the lazy dog', 'hello world', 'I am so happy today!', 'I feel sad'] * 8
    out = dict(device=device_name(), hidden=hidden, layers=n_layers, dtype=str(dtype).replace('torch.', ''))
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / 'model'
        model = build(folder, hidden, n_layers, vocab, dtype)
        g = torch.Generator().manual_seed(0)
        vs = [torch.randn(hidden, generator=g) for _ in range(3)]
        rows = [[Steer(vs[i % 3], 2.0 * (1 + i % 2), layer=i % n_layers)] if i % 4 else [] for i in range(8)]
        diff = rows_equal_alone(model, texts[:8], rows)
        out.update(per_row_vs_alone_max_abs=diff, per_row_ok=diff < (5e-2 if dtype == torch.bfloat16 else 1e-4))
        out.update(sweep_timing(model, texts, n_layers))
        if not a.cpu:
            try:
                import bitsandbytes  # noqa: F401
                kl = kl_4bit(folder, model, texts[:8], rows)
                out.update(kl_4bit_vs_bf16=round(kl, 5), kl_limit=KL_LIMIT, kl_ok=kl < KL_LIMIT)
            except ImportError: out.update(kl_4bit_vs_bf16=None, kl_note='bitsandbytes missing: pip install "steernb[gpu]"')
            try:
                from steernb.vllm_backend import bench_generate
                out.update(vllm=bench_generate(n_prompts=32, max_new_tokens=32, dtypes=('bfloat16',), repeats=3,
                                               log=lambda s: None))
            except Exception as e: out.update(vllm=f'skipped: {type(e).__name__}: {str(e)[:200]}')
    out.update(seconds=round(time.time() - t0, 1), steernb=steernb.__version__, torch=env_record()['torch'])
    ok = out['per_row_ok'] and out.get('kl_ok', True)
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == '__main__': sys.exit(main())

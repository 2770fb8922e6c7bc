"""The mini transformer, its layers and the landscape in PyTorch, float64, autograd.

An independent port of ``stablesgd_ref/model.py``, ``layers.py``,
``attention.py`` and ``landscape.py``: every gradient here comes from autograd,
so comparing it with the reference's hand-written backward passes tests both.
The layers use torch's own operations where they exist
(``F.layer_norm``, ``F.gelu(approximate="tanh")``,
``F.scaled_dot_product_attention(is_causal=True)``, ``F.cross_entropy``).
"""

import math

import torch
import torch.nn.functional as F

LAYER_NORM_EPS = 1e-5


# ----------------------------------------------------------------------------
# Layers: each a pure function of tensors
# ----------------------------------------------------------------------------


def embedding(idx, wte, wpe):
    """Token plus position embedding: (B, T) ids -> (B, T, C)."""
    T = idx.shape[1]
    return wte[idx] + wpe[:T]


def layernorm(x, g, b):
    """Layer norm over the last axis with the reference's eps of 1e-5."""
    return F.layer_norm(x, (x.shape[-1],), g, b, eps=LAYER_NORM_EPS)


def linear(x, w, b):
    """``x @ w + b`` with ``w`` of shape (D_in, D_out)."""
    return x @ w + b


def gelu(x):
    """GELU with the tanh approximation."""
    return F.gelu(x, approximate="tanh")


def softmax_cross_entropy(logits, targets):
    """Mean cross-entropy over every position: (..., V) logits, (...) targets."""
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))


def causal_self_attention(x, w_qkv, b_qkv, w_proj, b_proj, n_heads):
    """Causal multi-head self-attention: (B, T, C) -> (B, T, C)."""
    B, T, C = x.shape
    D = C // n_heads
    q, k, v = linear(x, w_qkv, b_qkv).split(C, dim=-1)  # (B, T, C) each
    q = q.view(B, T, n_heads, D).transpose(1, 2)  # (B, H, T, D)
    k = k.view(B, T, n_heads, D).transpose(1, 2)
    v = v.view(B, T, n_heads, D).transpose(1, 2)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
    y = y.transpose(1, 2).reshape(B, T, C)
    return linear(y, w_proj, b_proj)


LAYERS = {
    "embedding": embedding,
    "layernorm": layernorm,
    "linear": linear,
    "gelu": gelu,
    "softmax_cross_entropy": softmax_cross_entropy,
    "causal_self_attention": causal_self_attention,
}


# ----------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------


def forward(params, inputs, n_heads):
    """Return the logits (B, T, V) of the one-block pre-LN transformer.

    ``params`` maps the reference's parameter names to float64 tensors.
    """
    p = params
    x = embedding(inputs, p["wte"], p["wpe"])
    h = layernorm(x, p["ln_1.g"], p["ln_1.b"])
    x = x + causal_self_attention(
        h,
        p["attn.w_qkv"],
        p["attn.b_qkv"],
        p["attn.w_proj"],
        p["attn.b_proj"],
        n_heads,
    )
    h = layernorm(x, p["ln_2.g"], p["ln_2.b"])
    hidden = gelu(linear(h, p["mlp.w_fc"], p["mlp.b_fc"]))
    x = x + linear(hidden, p["mlp.w_proj"], p["mlp.b_proj"])
    h = layernorm(x, p["ln_f.g"], p["ln_f.b"])
    return linear(h, p["lm_head.w"], p["lm_head.b"])


def loss_and_grads(params, inputs, targets, n_heads):
    """Return the mean cross-entropy (float) and its gradients (dict of tensors)."""
    leaves = {
        name: t.detach().clone().requires_grad_(True) for name, t in params.items()
    }
    loss = softmax_cross_entropy(forward(leaves, inputs, n_heads), targets)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return float(loss.detach()), dict(zip(leaves, grads))


# ----------------------------------------------------------------------------
# The landscape of Experiment 2, noiseless
# ----------------------------------------------------------------------------


def landscape_loss(p, step, target, local_min):
    """Return the noiseless landscape loss at ``p`` (dim,) as a 0-d tensor."""
    quadratic = (p - target).square()
    bump = 0.2 * torch.exp(-(p - local_min).square())
    ripples = 0.1 * (1.0 - torch.cos(5.0 * p))
    coupling = 0.05 * (p[:-1] - p[1:]).square()
    time_shift = 0.01 * math.sin(step * 0.01) * p.square()
    return (
        quadratic.sum() + bump.sum() + ripples.sum() + coupling.sum() + time_shift.sum()
    )

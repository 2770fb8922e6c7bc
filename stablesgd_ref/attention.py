"""Causal multi-head self-attention as a forward/backward pair.

The layer follows GPT-2: one fused projection makes ``q, k, v`` from the input,
each head attends to the current and earlier positions only, and a second
projection mixes the heads::

    q, k, v = split(x @ w_qkv + b_qkv)                  # (B, T, C) each
    att = softmax(mask(q @ k.T / sqrt(D)))              # per head, (T, T)
    out = merge_heads(att @ v) @ w_proj + b_proj        # (B, T, C)

with ``H`` heads of size ``D = C / H``. Batch and heads are handled by
batched matrix products over arrays of shape (B, H, T, D), with no Python
loops.

References
----------
- Vaswani et al. (2017), "Attention Is All You Need", arXiv:1706.03762.
- Radford et al. (2019), "Language Models are Unsupervised Multitask Learners".
"""

import numpy as np

from .layers import linear_backward, linear_forward


def split_heads(x, n_heads):
    """Reshape ``(B, T, C)`` to ``(B, H, T, D)`` with ``D = C // H``."""
    B, T, C = x.shape
    return x.reshape(B, T, n_heads, C // n_heads).transpose(0, 2, 1, 3)


def merge_heads(x):
    """Reshape ``(B, H, T, D)`` back to ``(B, T, H * D)``."""
    B, H, T, D = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * D)


def causal_self_attention_forward(x, w_qkv, b_qkv, w_proj, b_proj, n_heads):
    """Apply causal multi-head self-attention to a batch of sequences.

    Position ``t`` attends to positions ``0..t`` only: scores of later
    positions are set to ``-inf`` before the softmax, so their weights are
    exactly 0. The diagonal is never masked, so every row has a finite maximum
    and the softmax is well defined.

    Parameters
    ----------
    x : ndarray, shape (B, T, C)
        Input sequence, usually the output of a layer norm.
    w_qkv : ndarray, shape (C, 3 * C)
        Fused projection. Columns ``[0:C]`` make ``q``, ``[C:2C]`` make ``k``
        and ``[2C:3C]`` make ``v``.
    b_qkv : ndarray, shape (3 * C,)
        Bias of the fused projection, in the same order.
    w_proj : ndarray, shape (C, C)
        Output projection.
    b_proj : ndarray, shape (C,)
        Bias of the output projection.
    n_heads : int
        Number of heads H. ``C`` must be divisible by H.

    Returns
    -------
    out : ndarray, shape (B, T, C)
    cache : tuple
        Inputs of every step, for ``causal_self_attention_backward``.
    """
    _, T, C = x.shape
    D = C // n_heads
    scale = 1.0 / np.sqrt(D)

    # 1. Project to queries, keys and values, then split the heads.
    qkv, qkv_cache = linear_forward(x, w_qkv, b_qkv)  # (B, T, 3C)
    # For speed, slices give the same three views as np.split without its overhead.
    q, k, v = qkv[..., :C], qkv[..., C : 2 * C], qkv[..., 2 * C :]  # (B, T, C) each
    q = split_heads(q, n_heads)  # (B, H, T, D)
    k = split_heads(k, n_heads)  # (B, H, T, D)
    v = split_heads(v, n_heads)  # (B, H, T, D)

    # 2. Scaled dot-product scores with the causal mask.
    scores = (q @ k.transpose(0, 1, 3, 2)) * scale  # (B, H, T, T)
    causal_mask = np.tri(T, dtype=bool)  # (T, T), True where key <= query
    scores = np.where(causal_mask, scores, -np.inf)  # (B, H, T, T)

    # 3. Softmax over the keys, shifted by the row maximum for stability.
    exp_scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    att = exp_scores / exp_scores.sum(axis=-1, keepdims=True)  # (B, H, T, T)

    # 4. Weighted sum of the values, then merge the heads.
    y = att @ v  # (B, H, T, T) @ (B, H, T, D) -> (B, H, T, D)
    y = merge_heads(y)  # (B, T, C)

    # 5. Output projection.
    out, proj_cache = linear_forward(y, w_proj, b_proj)  # (B, T, C)

    cache = (qkv_cache, q, k, v, att, scale, proj_cache)
    return out, cache


def causal_self_attention_backward(dout, cache):
    """Backpropagate through causal multi-head self-attention.

    The steps of the forward pass run in reverse. The softmax gradient is
    ``dscores = att * (datt - sum_keys(datt * att))``. Masked entries have
    ``att = 0``, so they get no gradient without a separate mask.

    NOTE: the key part of ``db_qkv`` (entries ``C:2C``) is zero up to rounding.
    Adding a vector ``b`` to every key adds the same ``q . b`` to all scores of
    a row, and the softmax does not change when a row is shifted.

    Parameters
    ----------
    dout : ndarray, shape (B, T, C)
    cache : tuple
        From ``causal_self_attention_forward``.

    Returns
    -------
    dx : ndarray, shape (B, T, C)
    dw_qkv : ndarray, shape (C, 3 * C)
    db_qkv : ndarray, shape (3 * C,)
    dw_proj : ndarray, shape (C, C)
    db_proj : ndarray, shape (C,)
    """
    qkv_cache, q, k, v, att, scale, proj_cache = cache
    n_heads = q.shape[1]

    # 5. Output projection.
    dy, dw_proj, db_proj = linear_backward(dout, proj_cache)  # (B, T, C)

    # 4. Weighted sum of the values.
    dy = split_heads(dy, n_heads)  # (B, H, T, D)
    datt = dy @ v.transpose(0, 1, 3, 2)  # (B, H, T, D) @ (B, H, D, T) -> (B, H, T, T)
    dv = att.transpose(0, 1, 3, 2) @ dy  # (B, H, T, T) @ (B, H, T, D) -> (B, H, T, D)

    # 3. Softmax over the keys.
    dscores = att * (datt - (datt * att).sum(axis=-1, keepdims=True))  # (B, H, T, T)

    # 2. Scaled dot-product scores. The mask is a constant and has no gradient.
    dscores = dscores * scale
    # (B, H, T, T) @ (B, H, T, D) -> (B, H, T, D) for both products.
    dq = dscores @ k
    dk = dscores.transpose(0, 1, 3, 2) @ q

    # 1. Merge the heads and project back through the fused q, k, v projection.
    dqkv = np.concatenate(
        [merge_heads(dq), merge_heads(dk), merge_heads(dv)], axis=-1
    )  # (B, T, 3C)
    dx, dw_qkv, db_qkv = linear_backward(dqkv, qkv_cache)  # (B, T, C)
    return dx, dw_qkv, db_qkv, dw_proj, db_proj

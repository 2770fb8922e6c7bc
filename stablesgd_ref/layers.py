"""Transformer layers as forward/backward pairs, written without autograd.

Every layer is a pair of functions in the CS231n style::

    out, cache = <name>_forward(x, params...)
    dx, dparams... = <name>_backward(dout, cache)

``cache`` contains what the backward pass needs from the forward pass, and every
gradient has the shape of the array it belongs to. All arithmetic is float64.
Weights are stored as ``(in_features, out_features)`` so that a linear layer
reads ``x @ w + b``. The causal self-attention pair lives in ``attention.py``.

References
----------
- Ba, Kiros, Hinton (2016), "Layer Normalization", arXiv:1607.06450.
- Hendrycks, Gimpel (2016), "Gaussian Error Linear Units (GELUs)",
  arXiv:1606.08415.
- Radford et al. (2019), "Language Models are Unsupervised Multitask Learners"
  (GPT-2). The tanh form of GELU and the layer-norm eps of 1e-5 match
  ``gelu`` and ``norm`` in OpenAI's GPT-2 code, ``src/model.py``.
"""

import numpy as np

LAYER_NORM_EPS = 1e-5
"""Constant added to the variance in layer norm, as in torch.nn.LayerNorm."""

GELU_SCALE = np.sqrt(2.0 / np.pi)
GELU_CUBIC = 0.044715


# ----------------------------------------------------------------------------
# Embedding: token embedding plus learned positional embedding
# ----------------------------------------------------------------------------


def embedding_forward(idx, wte, wpe):
    """Look up token embeddings and add the learned positional embeddings.

    Parameters
    ----------
    idx : ndarray of int, shape (B, T)
        Token ids in ``[0, V)``.
    wte : ndarray, shape (V, C)
        Token embedding table.
    wpe : ndarray, shape (T_max, C)
        Positional embedding table, ``T <= T_max``. Rows ``T:`` are unused.

    Returns
    -------
    out : ndarray, shape (B, T, C)
        ``out[b, t] = wte[idx[b, t]] + wpe[t]``.
    cache : tuple
        ``(idx, vocab_size, max_len)`` for the backward pass.
    """
    T = idx.shape[1]
    out = wte[idx] + wpe[:T]  # (B, T, C) + (T, C) -> (B, T, C)
    cache = (idx, wte.shape[0], wpe.shape[0])
    return out, cache


def embedding_backward(dout, cache):
    """Accumulate the upstream gradient into the two embedding tables.

    Token ids are integers, so there is no gradient with respect to ``idx``
    and the pair returns only the table gradients.

    Parameters
    ----------
    dout : ndarray, shape (B, T, C)
        Gradient of the loss with respect to the embedding output.
    cache : tuple
        From ``embedding_forward``.

    Returns
    -------
    dwte : ndarray, shape (V, C)
        Sum of ``dout[b, t]`` over every position where token ``v`` occurs.
    dwpe : ndarray, shape (T_max, C)
        ``dout`` summed over the batch for rows ``:T``, zero for unused rows.
    """
    idx, vocab_size, max_len = cache
    B, T, C = dout.shape

    dwpe = np.zeros((max_len, C))
    dwpe[:T] = dout.sum(axis=0)  # (B, T, C) -> (T, C)

    # A token that occurs several times collects all its gradients. np.add.at
    # accumulates repeated indices, which plain fancy-index assignment would not.
    dwte = np.zeros((vocab_size, C))
    np.add.at(dwte, idx.reshape(-1), dout.reshape(B * T, C))
    return dwte, dwpe


# ----------------------------------------------------------------------------
# Layer norm over the last axis
# ----------------------------------------------------------------------------


def layernorm_forward(x, g, b, eps=LAYER_NORM_EPS):
    """Normalize each row of ``x`` to mean 0 and variance 1, then scale and shift.

    ``xhat = (x - mean) / sqrt(var + eps)`` and ``out = g * xhat + b``, where
    ``mean`` and the biased ``var`` are taken over the last axis.

    Parameters
    ----------
    x : ndarray, shape (..., C)
        Input, for example (B, T, C).
    g : ndarray, shape (C,)
        Gain.
    b : ndarray, shape (C,)
        Bias.
    eps : float
        Added to the variance, so ``xhat`` has variance ``var / (var + eps)``.

    Returns
    -------
    out : ndarray, shape (..., C)
    cache : tuple
        ``(xhat, rstd, g)``, where ``rstd = 1 / sqrt(var + eps)`` has shape (..., 1).
    """
    C = x.shape[-1]
    # For speed, sum / C does the arithmetic of .mean() without its Python overhead.
    mean = x.sum(axis=-1, keepdims=True) / C  # (..., 1)
    xmu = x - mean  # (..., C)
    var = (xmu**2).sum(axis=-1, keepdims=True) / C  # (..., 1)
    rstd = 1.0 / np.sqrt(var + eps)  # (..., 1)
    xhat = xmu * rstd  # (..., C)
    out = g * xhat + b  # (..., C)
    cache = (xhat, rstd, g)
    return out, cache


def layernorm_backward(dout, cache):
    """Backpropagate through layer norm.

    With ``dxhat = dout * g`` and means taken over the last axis,
    ``dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))``.
    The two subtracted terms come from the dependence of ``mean`` and ``var``
    on every entry of the row.

    Parameters
    ----------
    dout : ndarray, shape (..., C)
    cache : tuple
        From ``layernorm_forward``.

    Returns
    -------
    dx : ndarray, shape (..., C)
    dg : ndarray, shape (C,)
    db : ndarray, shape (C,)
    """
    xhat, rstd, g = cache
    C = dout.shape[-1]

    db = dout.reshape(-1, C).sum(axis=0)  # (C,)
    dg = (dout * xhat).reshape(-1, C).sum(axis=0)  # (C,)

    dxhat = dout * g  # (..., C)
    # sum / C for speed, as in layernorm_forward.
    dxhat_mean = dxhat.sum(axis=-1, keepdims=True) / C  # (..., 1)
    dxhat_xhat_mean = (dxhat * xhat).sum(axis=-1, keepdims=True) / C  # (..., 1)
    dx = rstd * (dxhat - dxhat_mean - xhat * dxhat_xhat_mean)  # (..., C)
    return dx, dg, db


# ----------------------------------------------------------------------------
# Linear (affine) layer
# ----------------------------------------------------------------------------


def linear_forward(x, w, b):
    """Apply ``out = x @ w + b`` to the last axis of ``x``.

    Parameters
    ----------
    x : ndarray, shape (..., D_in)
    w : ndarray, shape (D_in, D_out)
    b : ndarray, shape (D_out,)

    Returns
    -------
    out : ndarray, shape (..., D_out)
    cache : tuple
        ``(x, w)``.
    """
    D_in, D_out = w.shape
    # One 2-D matrix product is faster than a stack of small ones.
    out = x.reshape(-1, D_in) @ w + b  # (N, D_in) @ (D_in, D_out) -> (N, D_out)
    out = out.reshape(*x.shape[:-1], D_out)  # (..., D_out)
    cache = (x, w)
    return out, cache


def linear_backward(dout, cache):
    """Backpropagate through ``out = x @ w + b``.

    Parameters
    ----------
    dout : ndarray, shape (..., D_out)
    cache : tuple
        From ``linear_forward``.

    Returns
    -------
    dx : ndarray, shape (..., D_in)
        ``dout @ w.T``.
    dw : ndarray, shape (D_in, D_out)
        ``x.T @ dout`` with all leading axes flattened into one.
    db : ndarray, shape (D_out,)
        ``dout`` summed over all leading axes.
    """
    x, w = cache
    D_in, D_out = w.shape
    x2d = x.reshape(-1, D_in)  # (N, D_in)
    dout2d = dout.reshape(-1, D_out)  # (N, D_out)

    db = dout2d.sum(axis=0)  # (D_out,)
    dw = x2d.T @ dout2d  # (D_in, N) @ (N, D_out) -> (D_in, D_out)
    dx = (dout2d @ w.T).reshape(x.shape)  # (N, D_out) @ (D_out, D_in) -> (..., D_in)
    return dx, dw, db


# ----------------------------------------------------------------------------
# GELU, tanh approximation
# ----------------------------------------------------------------------------


def gelu_forward(x):
    """Apply GELU with the tanh approximation used by GPT-2, elementwise.

    ``out = 0.5 * x * (1 + tanh(u))`` with
    ``u = sqrt(2 / pi) * (x + 0.044715 * x**3)``.

    GELU is chosen over ReLU because it is smooth: ReLU has a kink at 0 where a
    central difference that straddles the kink is wrong, which would make the
    1e-6 finite-difference gradient checks of the whole model unreliable.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape as ``x``
    cache : tuple
        ``(x, tanh_u)``.
    """
    # NumPy 2.4 evaluates x**3 with a general power function, which took over
    # 100 times as long as x * x * x on a (4, 20, 128) array.
    u = GELU_SCALE * (x + GELU_CUBIC * x * x * x)
    tanh_u = np.tanh(u)
    out = 0.5 * x * (1.0 + tanh_u)
    cache = (x, tanh_u)
    return out, cache


def gelu_backward(dout, cache):
    """Backpropagate through the tanh-approximated GELU.

    ``d out / d x = 0.5 * (1 + tanh(u)) + 0.5 * x * (1 - tanh(u)**2) * du/dx``
    with ``du/dx = sqrt(2 / pi) * (1 + 3 * 0.044715 * x**2)``.

    Parameters
    ----------
    dout : ndarray, same shape as the forward input
    cache : tuple
        From ``gelu_forward``.

    Returns
    -------
    dx : ndarray, same shape as ``dout``
    """
    x, tanh_u = cache
    du = GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * x * x)
    dx = dout * (0.5 * (1.0 + tanh_u) + 0.5 * x * (1.0 - tanh_u**2) * du)
    return dx


# ----------------------------------------------------------------------------
# Softmax cross-entropy, mean over positions
# ----------------------------------------------------------------------------


def softmax_cross_entropy_forward(logits, targets):
    """Compute the mean softmax cross-entropy of integer targets.

    ``loss = mean_n(logsumexp(logits[n]) - logits[n, targets[n]])``, with the
    mean over every position of the leading axes. The row maximum is subtracted
    before ``exp``, so large logits give a finite loss: the largest term is
    ``exp(0) = 1`` and the other terms can only underflow to 0. The exception is
    a row whose spread itself overflows (logits near +-1e308), where
    ``max - logit`` is Inf.

    Parameters
    ----------
    logits : ndarray, shape (..., V)
        Unnormalized log-probabilities, for example (B, T, V).
    targets : ndarray of int, shape (...)
        Class ids in ``[0, V)``, one per row of ``logits``.

    Returns
    -------
    loss : float
    cache : tuple
        ``(probs, targets, logits_shape)`` with ``probs`` of shape (N, V) and
        ``targets`` of shape (N,), where N is the number of positions.
    """
    V = logits.shape[-1]
    logits2d = logits.reshape(-1, V)  # (N, V)
    targets1d = targets.reshape(-1)  # (N,)
    N = logits2d.shape[0]

    shifted = logits2d - logits2d.max(axis=-1, keepdims=True)  # (N, V), max is 0
    exp_shifted = np.exp(shifted)  # (N, V), in [0, 1]
    sum_exp = exp_shifted.sum(axis=-1, keepdims=True)  # (N, 1), in [1, V]
    probs = exp_shifted / sum_exp  # (N, V)

    # For speed, log_probs = shifted - log(sum_exp) is evaluated only at the
    # targets, because the loss reads no other entry.
    log_probs = shifted[np.arange(N), targets1d] - np.log(sum_exp[:, 0])  # (N,)
    loss = -log_probs.mean()
    cache = (probs, targets1d, logits.shape)
    return float(loss), cache


def softmax_cross_entropy_backward(dloss, cache):
    """Backpropagate the mean cross-entropy to the logits.

    ``dlogits = dloss * (softmax(logits) - onehot(targets)) / N``.

    Parameters
    ----------
    dloss : float
        Upstream gradient of the scalar loss, 1.0 when the loss is the output.
    cache : tuple
        From ``softmax_cross_entropy_forward``.

    Returns
    -------
    dlogits : ndarray, same shape as the forward ``logits``
    """
    probs, targets1d, logits_shape = cache
    N = probs.shape[0]
    dlogits = probs.copy()  # (N, V)
    dlogits[np.arange(N), targets1d] -= 1.0
    dlogits *= dloss / N
    return dlogits.reshape(logits_shape)

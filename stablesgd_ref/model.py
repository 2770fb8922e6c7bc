"""A one-block GPT-style language model with hand-written gradients.

The model predicts the next token at every position::

    x = wte[inputs] + wpe[:T]                    # (B, T, C)
    x = x + attn(ln_1(x))                        # pre-LN attention block
    x = x + mlp(ln_2(x))                         # pre-LN feedforward block
    logits = ln_f(x) @ lm_head.w + lm_head.b     # (B, T, V)
    loss = mean cross-entropy(logits, targets)   # over all B * T positions

with ``mlp(h) = gelu(h @ mlp.w_fc + mlp.b_fc) @ mlp.w_proj + mlp.b_proj``.
The output projection ``lm_head`` is a separate matrix with a bias and is not
tied to ``wte``.

Parameter names and order (the order optimizers see), for vocabulary V,
maximum length T_max, width C and feedforward width F:

==================  ============  ===========================
name                shape         initial value
==================  ============  ===========================
``wte``             (V, C)        normal, std ``init_std``
``wpe``             (T_max, C)    normal, std ``init_std``
``ln_1.g``          (C,)          1
``ln_1.b``          (C,)          0
``attn.w_qkv``      (C, 3C)       normal, std ``init_std``
``attn.b_qkv``      (3C,)         0
``attn.w_proj``     (C, C)        normal, std ``init_std``
``attn.b_proj``     (C,)          0
``ln_2.g``          (C,)          1
``ln_2.b``          (C,)          0
``mlp.w_fc``        (C, F)        normal, std ``init_std``
``mlp.b_fc``        (F,)          0
``mlp.w_proj``      (F, C)        normal, std ``init_std``
``mlp.b_proj``      (C,)          0
``ln_f.g``          (C,)          1
``ln_f.b``          (C,)          0
``lm_head.w``       (C, V)        normal, std ``init_std``
``lm_head.b``       (V,)          0
==================  ============  ===========================

The weights are drawn in this order from ``np.random.default_rng(seed)``.
``init_std = 0.02`` is the GPT-2 scale. With it the initial logits are close
to 0 and the initial loss is close to ``log(V)``.
"""

import numpy as np

from .attention import causal_self_attention_backward, causal_self_attention_forward
from .checks import as_int_at_least
from .layers import (
    embedding_backward,
    embedding_forward,
    gelu_backward,
    gelu_forward,
    layernorm_backward,
    layernorm_forward,
    linear_backward,
    linear_forward,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)

INIT_STD = 0.02


class MiniTransformer:
    """Build a one-block pre-LN transformer language model with float64 weights.

    Parameters
    ----------
    vocab_size : int
        Number of token ids V. Valid ids are ``0..V-1``.
    seq_len : int
        Maximum sequence length T_max, the number of rows of ``wpe``.
    d_model : int
        Width C of the residual stream.
    n_heads : int
        Number of attention heads. ``d_model`` must be divisible by it.
    d_ff : int
        Width F of the feedforward hidden layer.
    seed : int
        Seed of ``np.random.default_rng`` for the initial weights.
    init_std : float
        Standard deviation of the normal initial weights. Biases start at 0,
        layer-norm gains at 1.

    Attributes
    ----------
    params : dict of str to ndarray
        The weights, float64, in the order listed in the module docstring.
        Every method reads the arrays from this dict at call time, so an
        optimizer may update them in place.
    """

    def __init__(
        self,
        vocab_size=100,
        seq_len=20,
        d_model=32,
        n_heads=4,
        d_ff=128,
        seed=42,
        init_std=INIT_STD,
    ):
        self.vocab_size = as_int_at_least("vocab_size", vocab_size)
        self.seq_len = as_int_at_least("seq_len", seq_len)
        self.d_model = as_int_at_least("d_model", d_model)
        self.n_heads = as_int_at_least("n_heads", n_heads)
        self.d_ff = as_int_at_least("d_ff", d_ff)
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}. "
                "Choose an n_heads that divides d_model."
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        init_std = float(init_std)
        if not np.isfinite(init_std) or init_std <= 0:
            raise ValueError(
                f"init_std must be a positive finite float, got {init_std}"
            )
        self.seed = int(seed)
        self.init_std = init_std
        self.params = self._init_params()

    def _init_params(self):
        """Draw the initial weights in the documented order."""
        rng = np.random.default_rng(self.seed)
        V, T_max, C, F = self.vocab_size, self.seq_len, self.d_model, self.d_ff

        def normal(*shape):
            return rng.normal(0.0, self.init_std, size=shape)

        return {
            "wte": normal(V, C),
            "wpe": normal(T_max, C),
            "ln_1.g": np.ones(C),
            "ln_1.b": np.zeros(C),
            "attn.w_qkv": normal(C, 3 * C),
            "attn.b_qkv": np.zeros(3 * C),
            "attn.w_proj": normal(C, C),
            "attn.b_proj": np.zeros(C),
            "ln_2.g": np.ones(C),
            "ln_2.b": np.zeros(C),
            "mlp.w_fc": normal(C, F),
            "mlp.b_fc": np.zeros(F),
            "mlp.w_proj": normal(F, C),
            "mlp.b_proj": np.zeros(C),
            "ln_f.g": np.ones(C),
            "ln_f.b": np.zeros(C),
            "lm_head.w": normal(C, V),
            "lm_head.b": np.zeros(V),
        }

    def num_params(self):
        """Return the total number of scalar weights."""
        return sum(p.size for p in self.params.values())

    # ------------------------------------------------------------------
    # Input validation
    # ------------------------------------------------------------------

    def _check_tokens(self, name, tokens):
        """Return ``tokens`` as a 2-D integer array, or raise naming the problem."""
        tokens = np.asarray(tokens)
        if tokens.dtype.kind not in "iu":
            raise TypeError(
                f"{name} must be an integer array of token ids, got dtype "
                f"{tokens.dtype}. Convert whole-number values with .astype(np.int64)."
            )
        if tokens.ndim != 2:
            raise ValueError(
                f"{name} must be 2-D with shape (batch, time), got shape {tokens.shape}"
            )
        B, T = tokens.shape
        if B < 1:
            raise ValueError(f"{name} must contain at least one sequence, got batch 0")
        if not 1 <= T <= self.seq_len:
            raise ValueError(
                f"{name} has length T={T}, but the model accepts 1 <= T <= "
                f"seq_len={self.seq_len}. Shorten the sequences or build the "
                "model with a larger seq_len."
            )
        low, high = tokens.min(), tokens.max()
        if low < 0 or high >= self.vocab_size:
            bad = low if low < 0 else high
            raise ValueError(
                f"{name} contains token id {bad}, outside the valid range "
                f"[0, {self.vocab_size}). Map the ids into this range or build the "
                "model with a larger vocab_size."
            )
        return tokens

    def _check_inputs_targets(self, inputs, targets):
        inputs = self._check_tokens("inputs", inputs)
        targets_array = np.asarray(targets)
        if targets_array.shape != inputs.shape:
            raise ValueError(
                f"targets must have the shape of inputs {inputs.shape}, got "
                f"{targets_array.shape}"
            )
        targets = self._check_tokens("targets", targets_array)
        return inputs, targets

    # ------------------------------------------------------------------
    # Forward and backward passes
    # ------------------------------------------------------------------

    def _forward(self, inputs):
        """Run the forward pass on checked inputs and keep every cache.

        Returns ``logits`` of shape (B, T, V) and a dict of layer caches.
        """
        p = self.params
        cache = {}

        # Embedding.
        x, cache["emb"] = embedding_forward(inputs, p["wte"], p["wpe"])  # (B, T, C)

        # Attention block: x1 = x + attn(ln_1(x)).
        h, cache["ln_1"] = layernorm_forward(x, p["ln_1.g"], p["ln_1.b"])
        a, cache["attn"] = causal_self_attention_forward(
            h,
            p["attn.w_qkv"],
            p["attn.b_qkv"],
            p["attn.w_proj"],
            p["attn.b_proj"],
            self.n_heads,
        )  # (B, T, C)
        x1 = x + a  # (B, T, C)

        # Feedforward block: x2 = x1 + mlp(ln_2(x1)).
        h2, cache["ln_2"] = layernorm_forward(x1, p["ln_2.g"], p["ln_2.b"])
        # h2 (B, T, C) -> fc, act (B, T, F) -> m (B, T, C)
        fc, cache["mlp.fc"] = linear_forward(h2, p["mlp.w_fc"], p["mlp.b_fc"])
        act, cache["mlp.gelu"] = gelu_forward(fc)
        m, cache["mlp.proj"] = linear_forward(act, p["mlp.w_proj"], p["mlp.b_proj"])
        x2 = x1 + m  # (B, T, C)

        # Final layer norm and output projection.
        hf, cache["ln_f"] = layernorm_forward(x2, p["ln_f.g"], p["ln_f.b"])
        logits, cache["lm_head"] = linear_forward(
            hf, p["lm_head.w"], p["lm_head.b"]
        )  # (B, T, V)
        return logits, cache

    def _backward(self, dlogits, cache):
        """Run the backward pass, mirroring ``_forward`` in reverse.

        Returns a dict of gradients with the keys and order of ``params``.
        """
        grads = {}

        # Final layer norm and output projection.
        dhf, grads["lm_head.w"], grads["lm_head.b"] = linear_backward(
            dlogits, cache["lm_head"]
        )
        dx2, grads["ln_f.g"], grads["ln_f.b"] = layernorm_backward(dhf, cache["ln_f"])

        # Feedforward block: the residual passes dx2 to x1 unchanged.
        dm = dx2
        dact, grads["mlp.w_proj"], grads["mlp.b_proj"] = linear_backward(
            dm, cache["mlp.proj"]
        )
        dfc = gelu_backward(dact, cache["mlp.gelu"])
        dh2, grads["mlp.w_fc"], grads["mlp.b_fc"] = linear_backward(
            dfc, cache["mlp.fc"]
        )
        dx1_ln, grads["ln_2.g"], grads["ln_2.b"] = layernorm_backward(
            dh2, cache["ln_2"]
        )
        dx1 = dx2 + dx1_ln

        # Attention block: the residual passes dx1 to x unchanged.
        da = dx1
        (
            dh,
            grads["attn.w_qkv"],
            grads["attn.b_qkv"],
            grads["attn.w_proj"],
            grads["attn.b_proj"],
        ) = causal_self_attention_backward(da, cache["attn"])
        dx_ln, grads["ln_1.g"], grads["ln_1.b"] = layernorm_backward(dh, cache["ln_1"])
        dx = dx1 + dx_ln

        # Embedding.
        grads["wte"], grads["wpe"] = embedding_backward(dx, cache["emb"])

        return {name: grads[name] for name in self.params}

    # ------------------------------------------------------------------
    # Public interface
    # ------------------------------------------------------------------

    def forward(self, inputs):
        """Compute the next-token logits.

        Parameters
        ----------
        inputs : ndarray of int, shape (B, T)
            Token ids in ``[0, vocab_size)``, ``1 <= T <= seq_len``.

        Returns
        -------
        logits : ndarray, shape (B, T, V)
            ``logits[b, t]`` depends on ``inputs[b, :t+1]`` only.
        """
        inputs = self._check_tokens("inputs", inputs)
        logits, _ = self._forward(inputs)
        return logits

    def loss(self, inputs, targets):
        """Compute the mean next-token cross-entropy over all B * T positions.

        Parameters
        ----------
        inputs : ndarray of int, shape (B, T)
        targets : ndarray of int, shape (B, T)
            Usually ``inputs`` shifted left by one position.

        Returns
        -------
        loss : float
        """
        inputs, targets = self._check_inputs_targets(inputs, targets)
        logits, _ = self._forward(inputs)
        loss, _ = softmax_cross_entropy_forward(logits, targets)
        return loss

    def loss_and_grads(self, inputs, targets):
        """Compute the mean cross-entropy and its gradient for every parameter.

        Parameters
        ----------
        inputs : ndarray of int, shape (B, T)
        targets : ndarray of int, shape (B, T)

        Returns
        -------
        loss : float
        grads : dict of str to ndarray
            New float64 arrays with the keys, order and shapes of ``params``.
        """
        inputs, targets = self._check_inputs_targets(inputs, targets)
        logits, cache = self._forward(inputs)
        loss, loss_cache = softmax_cross_entropy_forward(logits, targets)
        dlogits = softmax_cross_entropy_backward(1.0, loss_cache)  # (B, T, V)
        grads = self._backward(dlogits, cache)
        return loss, grads

"""Kronecker-product linear layer: y = x (A ⊗ B)^T + b, without ever building A ⊗ B.

With X = x.view(n1, n2) (row-major), (A ⊗ B) x = vec(A X B^T). The two
products run in the order the MAC formula says is cheaper (B first costs
n1·m2·(n2+m1), A first m1·n2·(n1+m2)).

For a batch, the product with B is a single matrix multiply over the whole
batch and the one with A a batched multiply, so no tensor is ever reordered
(measured faster than reordering into single large multiplies, see
docs/compression.md). The backward pass is written out by hand to keep the
same layouts and to pick the operand layouts MKL runs fastest. A single
input vector takes a shorter path with fewer autograd nodes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .factors import KroneckerShape, nearest_kronecker, resolve_factors
from .layer import WeightLayer, check_features, init_bias, to_numpy


def _mm_right(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """x @ f for a small factor f, passed to BLAS transposed: with few output columns the
    plain layout is several times slower on MKL (measured, see docs/compression.md)."""
    return F.linear(x, f.t().contiguous())


def _mm_tn(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """p^T @ q, computed as (q^T p)^T when that puts the wider dimension last (faster on MKL)."""
    if q.shape[1] < p.shape[1]:
        return torch.mm(q.t(), p).t()
    return torch.mm(p.t(), q)


def _kron_forward(x3: torch.Tensor, a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None, order: int):
    """x3 (batch, n1, n2) -> (y (batch, m1·m2), intermediate).

    The product with B is one matrix multiply over the whole batch; the one
    with A (shared on the left) is a batched multiply, which keeps every
    tensor in its natural layout: no reordering copies.
    """
    batch, n1, n2 = x3.shape
    m1, m2 = a.shape[0], b.shape[0]
    if order == 1:
        mid = F.linear(x3.reshape(batch * n1, n2), b).view(batch, n1, m2)
        y = torch.bmm(a.expand(batch, m1, n1), mid)
    else:
        mid = torch.bmm(a.expand(batch, m1, n1), x3)
        y = F.linear(mid.view(batch * m1, n2), b)
    y = y.view(batch, m1 * m2)
    if bias is not None:
        y.add_(bias)
    return y, mid


class _KronMatmul(torch.autograd.Function):
    """x (b, n1·n2) -> (b, m1·m2) for b > 1; `order` 1 contracts B first, 2 contracts A first."""

    @staticmethod
    def forward(ctx, x, a, b, bias, order):
        m1, n1 = a.shape
        m2, n2 = b.shape
        x3 = x.reshape(x.shape[0], n1, n2)
        y, mid = _kron_forward(x3, a, b, bias, order)
        ctx.order = order
        ctx.has_bias = bias is not None
        ctx.save_for_backward(x3, a, b, mid)
        return y

    @staticmethod
    def backward(ctx, grad_y):
        x3, a, b, mid = ctx.saved_tensors
        m1, n1 = a.shape
        m2, n2 = b.shape
        batch = grad_y.shape[0]
        need_x, need_a, need_b, need_bias, _ = ctx.needs_input_grad
        grad_x = grad_a = grad_b = grad_bias = None
        if ctx.order == 1:
            gy = grad_y.reshape(batch, m1, m2)
            if need_a:
                grad_a = torch.bmm(gy, mid.transpose(1, 2)).sum(0)
            if need_x or need_b:
                gmid = torch.bmm(a.t().expand(batch, n1, m1), gy).view(batch * n1, m2)
                if need_b:
                    grad_b = _mm_tn(gmid, x3.view(batch * n1, n2))
                if need_x:
                    grad_x = _mm_right(gmid, b).view(batch, n1 * n2)
        else:
            gy = grad_y.reshape(batch * m1, m2)
            if need_b:
                grad_b = _mm_tn(gy, mid.view(batch * m1, n2))
            if need_x or need_a:
                gmid = _mm_right(gy, b).view(batch, m1, n2)
                if need_a:
                    grad_a = torch.bmm(gmid, x3.transpose(1, 2)).sum(0)
                if need_x:
                    grad_x = torch.bmm(a.t().expand(batch, n1, m1), gmid).view(batch, n1 * n2)
        if need_bias and ctx.has_bias:
            grad_bias = grad_y.sum(0)
        return grad_x, grad_a, grad_b, grad_bias, None


def kron_linear(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None,
                shape: KroneckerShape) -> torch.Tensor:
    """x (..., in) -> x (A ⊗ B)[:out, :in]^T + bias, for the shapes in `shape`."""
    n_in = shape.in_features
    if x.shape[-1] != n_in:
        raise ValueError(f"input has {x.shape[-1]} features, the layer expects {n_in}")
    m1, n1 = a.shape
    m2, n2 = b.shape
    exact = not shape.padded
    if exact and x.numel() == n_in:
        # One vector: both products on (n1, n2) directly, with the fewest autograd nodes.
        xm = x.reshape(n1, n2)
        if shape.order == 1:
            t = F.linear(xm, b)
            y = torch.mm(a, t) if bias is None else torch.addmm(bias.view(m1, m2), a, t)
        else:
            t = torch.mm(a, xm)
            y = F.linear(t, b) if bias is None else torch.addmm(bias.view(m1, m2), t, b.t())
        return y.reshape(x.shape[:-1] + (shape.out_features,))
    lead = x.shape[:-1]
    x2 = x.reshape(-1, n_in)
    if shape.in_padded != n_in:
        x2 = F.pad(x2, (0, shape.in_padded - n_in))
    inner_bias = bias if exact else None
    if x2.shape[0] == 0:
        y = x2.new_zeros(0, m1 * m2)
    elif x2.shape[0] == 1:
        xm = x2.view(n1, n2)
        y = (torch.mm(a, F.linear(xm, b)) if shape.order == 1 else F.linear(torch.mm(a, xm), b)).view(1, m1 * m2)
    elif torch.is_grad_enabled() and (x2.requires_grad or a.requires_grad or b.requires_grad
                                      or (inner_bias is not None and inner_bias.requires_grad)):
        y = _KronMatmul.apply(x2, a, b, inner_bias, shape.order)
    else:
        y = _kron_forward(x2.reshape(-1, n1, n2), a, b, inner_bias, shape.order)[0]
    if shape.out_padded != shape.out_features:
        y = y[:, : shape.out_features]
    if bias is not None and not exact:
        y = y + bias
    return y.reshape(*lead, shape.out_features)


class KroneckerLinear(WeightLayer):
    """y = x (A ⊗ B)^T + b with A (m1 x n1), B (m2 x n2). Exports A, B (and bias).

    `factors=None` picks the shapes by the rule in `harness.compress.factors`;
    `factors=[[m1, n1], [m2, n2]]` overrides it. When m1·m2 > out or
    n1·n2 > in, the input is padded with zeros and extra output rows are
    dropped, so the layer applies (A ⊗ B)[:out, :in].
    """

    kind = "kp"

    def __init__(self, in_features: int, out_features: int, factors=None, bias: bool = True):
        super().__init__()
        check_features(in_features, out_features)
        self.in_features, self.out_features = in_features, out_features
        self.shape = resolve_factors(out_features, in_features, factors)
        sh = self.shape
        self._fast_shape = None if sh.padded else (sh.m1, sh.n1, sh.m2, sh.n2, in_features, sh.order)
        self.A = nn.Parameter(torch.empty(self.shape.a_shape))
        self.B = nn.Parameter(torch.empty(self.shape.b_shape))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Entries of A ⊗ B then have variance 1/(3·n1·n2), as nn.Linear's 1/(3·in).
        with torch.no_grad():
            self.A.uniform_(-(3 ** 0.25) / math.sqrt(self.shape.n1), (3 ** 0.25) / math.sqrt(self.shape.n1))
            self.B.uniform_(-(3 ** 0.25) / math.sqrt(self.shape.n2), (3 ** 0.25) / math.sqrt(self.shape.n2))
        init_bias(self.bias, self.in_features)

    @classmethod
    def from_dense(cls, linear: nn.Module, factors=None) -> "KroneckerLinear":
        """The nearest Kronecker product (Frobenius norm) to a trained dense layer's weight; bias copied."""
        weight = _dense_weight_of(linear)
        layer = cls(linear.in_features, linear.out_features, factors=factors, bias=linear.bias is not None)
        layer = layer.to(device=weight.device, dtype=weight.dtype)
        a, b = nearest_kronecker(weight, layer.shape)
        with torch.no_grad():
            layer.A.copy_(a)
            layer.B.copy_(b)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fast = self._fast_shape
        if fast is not None and x.numel() == fast[4] and x.dim() <= 2 and x.shape[-1] == fast[4]:
            # One vector, no padding: the shortest path (per-call overhead dominates at this size).
            m1, n1, m2, n2, n_in, order = fast
            a, b, bias = self.A, self.B, self.bias
            xm = x.view(n1, n2)
            if order == 1:
                t = F.linear(xm, b)
                y = torch.mm(a, t) if bias is None else torch.addmm(bias.view(m1, m2), a, t)
            else:
                t = torch.mm(a, xm)
                y = F.linear(t, b) if bias is None else torch.addmm(bias.view(m1, m2), t, b.t())
            return y.view(1, m1 * m2) if x.dim() == 2 else y.view(m1 * m2)
        return kron_linear(x, self.A, self.B, self.bias, self.shape)

    def kron_weight(self) -> torch.Tensor:
        return torch.kron(self.A, self.B)[: self.out_features, : self.in_features]

    def dense_weight(self) -> torch.Tensor:
        return self.kron_weight()

    def export(self) -> dict:
        return self._export_bias({"A": to_numpy(self.A), "B": to_numpy(self.B)})

    def weight_count(self) -> int:
        return self.A.numel() + self.B.numel()

    def nnz(self) -> int:
        return int(torch.count_nonzero(self.A)) + int(torch.count_nonzero(self.B))

    def macs(self) -> int:
        return self.shape.macs

    def factor_shapes(self) -> str:
        text = self.shape.describe()
        if self.shape.padded:
            text += f" (padded {self.shape.out_padded}x{self.shape.in_padded})"
        return text

    def config(self) -> dict:
        return {"factors": self.shape.as_config()}


def _dense_weight_of(linear: nn.Module) -> torch.Tensor:
    if hasattr(linear, "dense_weight"):
        return linear.dense_weight().detach()
    if isinstance(getattr(linear, "weight", None), torch.Tensor) and linear.weight.dim() == 2:
        return linear.weight.detach()
    raise ValueError(f"{type(linear).__name__} has no 2-D weight to convert; pass an nn.Linear or a harness layer")

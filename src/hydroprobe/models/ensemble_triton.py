"""The stacked replicates' LSTM recurrence as two persistent Triton kernels (CUDA; issue 15).

Why: the torch recurrence (:class:`~hydroprobe.models.ensemble_recurrence.FusedRecurrence`)
launches ~21 small kernels per time step. Captured in a CUDA graph the launches are free, but
each kernel still reads and writes the whole state: on an H200 at R = 100 an epoch took 3.7 s
(``benchmarks/results/gpu_paper_h200_2026-11-29.json``), 2.5x over the issue's 1.5 s. Here one
program owns one replicate and a block of ``BB`` samples for the whole window: ``h`` and ``c``
stay in registers, ``W_hh`` (4 gates of H x H) is loaded once, and a step is four small
``tl.dot`` plus the gate arithmetic, with nothing launched per step.

Work split (shapes as in :mod:`ensemble_recurrence`, gates in the order i, f, o, g):

* the input projection ``x_t W_ih^T + b`` of all steps is one batched GEMM written into the
  ``gates`` buffer ``(R, T, B, G)`` before the forward kernel, which adds ``h W_hh^T``, activates
  in place, and stores ``c_t`` ``(R, T, B, H)`` and ``h_t`` ``(R, T + 1, B, H)`` (row 0 = h_0 = 0);
* the backward kernel walks the window back, overwrites ``gates`` with the pre-activation
  gradients and carries ``dh``, ``dc`` in registers;
* the weight gradients are then three batched GEMMs over all ``T x B`` (step, sample) pairs, as
  cuBLAS does them best, instead of per-step accumulations.

``precision``: ``ieee`` (plain fp32 FMA, the default), ``tf32x3`` (tensor cores, three passes,
close to fp32) or ``tf32``. Everything is tested on CPU through Triton's interpreter
(``TRITON_INTERPRET=1``, which must be set before triton is first imported: tests/conftest.py).
``tanh`` is written as ``2 sigmoid(2x) - 1`` (Triton has no tanh in every version).

Measured (H200, 2026-11-29, ``benchmarks/results/gpu_triton_h200_2026-11-29.json``): correct on
the GPU (16 replicates, 3 epochs: losses within 3e-7 of the eager engine) but not yet faster:
at R = 100 an epoch takes 4.2 s with ``BB = 16`` and 16.5 s with ``BB = 32``, against 3.9 s for
the captured torch step; at R = 1, 2.5 s against cuDNN's 0.16 s. ``BB = 64`` and ``tf32x3`` at
``BB = 32`` ask for more shared memory than the chip has. So ``train.recurrence`` stays
``torch`` by default; this is the starting point for a fused kernel, not the fast path.
"""

from __future__ import annotations

import torch

from hydroprobe.models.ensemble_recurrence import Workspace

PRECISIONS = ("ieee", "tf32x3", "tf32")
# Samples per program, dot precision, warps per program and software-pipelining stages; read at
# each call, so a benchmark can try others. Block 16 measured 3.9x faster than 32 on an H200 (more
# programs in flight, less shared memory); warps and stages are Triton's defaults, not yet tuned
# (fewer stages need less shared memory: block 64 and tf32x3 ran out of it with 3).
BLOCK = 16
PRECISION = "ieee"
WARPS = 4
STAGES = 3


try:  # Triton ships with CUDA builds of torch, not with the CPU wheel
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the installation
    triton = None


def available() -> bool:
    """Whether the kernels exist here (Triton importable)."""
    return triton is not None


if triton is not None:
    @triton.jit
    def _tanh(x):
        return 2.0 * tl.sigmoid(2.0 * x) - 1.0

    @triton.jit
    def _preactivation(gate, h, w, inside, PRECISION: tl.constexpr):
        """The input projection already in ``gate`` plus ``h W^T`` for one gate."""
        return tl.load(gate, mask=inside, other=0.0) + tl.dot(h, w, input_precision=PRECISION)

    @triton.jit
    def _program_tile(B, H: tl.constexpr, HP: tl.constexpr, BB: tl.constexpr):
        """This program's replicate, sample rows, hidden columns and which of them are real."""
        rows = tl.program_id(1) * BB + tl.arange(0, BB)
        k = tl.arange(0, HP)
        return tl.program_id(0), rows, k, (rows < B)[:, None] & (k < H)[None, :]

    @triton.jit
    def _gate_weights(w_hh_ptr, r, k, H: tl.constexpr, TRANSPOSED: tl.constexpr):
        """Replicate ``r``'s four ``W_hh`` gate blocks as zero-padded tiles: ``[k, j]`` for the
        forward's ``h W^T``, ``[j, k]`` (``TRANSPOSED``) for the backward's ``dpre W``."""
        square = (k < H)[:, None] & (k < H)[None, :]
        if TRANSPOSED:
            base = w_hh_ptr + r * 4 * H * H + k[:, None] * H + k[None, :]
        else:
            base = w_hh_ptr + r * 4 * H * H + k[None, :] * H + k[:, None]
        return (tl.load(base, mask=square, other=0.0), tl.load(base + H * H, mask=square, other=0.0),
                tl.load(base + 2 * H * H, mask=square, other=0.0),
                tl.load(base + 3 * H * H, mask=square, other=0.0))

    @triton.jit
    def _forward(gates_ptr, w_hh_ptr, cells_ptr, hiddens_ptr, out_ptr, B,
                 T: tl.constexpr, H: tl.constexpr, HP: tl.constexpr, BB: tl.constexpr,
                 PRECISION: tl.constexpr):
        r, rows, k, inside = _program_tile(B, H, HP, BB)
        w_i, w_f, w_o, w_g = _gate_weights(w_hh_ptr, r, k, H, False)
        h = tl.zeros((BB, HP), dtype=tl.float32)
        c = tl.zeros((BB, HP), dtype=tl.float32)
        for t in range(T):
            gate = gates_ptr + ((r * T + t) * B + rows[:, None]) * 4 * H + k[None, :]
            i = tl.sigmoid(_preactivation(gate, h, w_i, inside, PRECISION))
            f = tl.sigmoid(_preactivation(gate + H, h, w_f, inside, PRECISION))
            o = tl.sigmoid(_preactivation(gate + 2 * H, h, w_o, inside, PRECISION))
            g = _tanh(_preactivation(gate + 3 * H, h, w_g, inside, PRECISION))
            c = f * c + i * g
            h = o * _tanh(c)
            tl.store(gate, i, mask=inside)
            tl.store(gate + H, f, mask=inside)
            tl.store(gate + 2 * H, o, mask=inside)
            tl.store(gate + 3 * H, g, mask=inside)
            tl.store(cells_ptr + ((r * T + t) * B + rows[:, None]) * H + k[None, :], c, mask=inside)
            hidden = hiddens_ptr + ((r * (T + 1) + t + 1) * B + rows[:, None]) * H + k[None, :]
            tl.store(hidden, h, mask=inside)
        tl.store(out_ptr + (r * B + rows[:, None]) * H + k[None, :], h, mask=inside)

    @triton.jit
    def _backward(grad_h_ptr, w_hh_ptr, gates_ptr, cells_ptr, B,
                  T: tl.constexpr, H: tl.constexpr, HP: tl.constexpr, BB: tl.constexpr,
                  PRECISION: tl.constexpr):
        r, rows, k, inside = _program_tile(B, H, HP, BB)
        w_i, w_f, w_o, w_g = _gate_weights(w_hh_ptr, r, k, H, True)
        dh = tl.load(grad_h_ptr + (r * B + rows[:, None]) * H + k[None, :], mask=inside, other=0.0)
        dc = tl.zeros((BB, HP), dtype=tl.float32)
        for s in range(T):
            t = T - 1 - s
            gate = gates_ptr + ((r * T + t) * B + rows[:, None]) * 4 * H + k[None, :]
            cell = cells_ptr + ((r * T + t) * B + rows[:, None]) * H + k[None, :]
            i = tl.load(gate, mask=inside, other=0.0)
            f = tl.load(gate + H, mask=inside, other=0.0)
            o = tl.load(gate + 2 * H, mask=inside, other=0.0)
            g = tl.load(gate + 3 * H, mask=inside, other=0.0)
            tanh_c = _tanh(tl.load(cell, mask=inside, other=0.0))
            c_prev = tl.load(cell - B * H, mask=inside & (t > 0), other=0.0)
            dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
            d_i = dc * g * i * (1.0 - i)
            d_f = dc * c_prev * f * (1.0 - f)
            d_o = dh * tanh_c * o * (1.0 - o)
            d_g = dc * i * (1.0 - g * g)
            tl.store(gate, d_i, mask=inside)
            tl.store(gate + H, d_f, mask=inside)
            tl.store(gate + 2 * H, d_o, mask=inside)
            tl.store(gate + 3 * H, d_g, mask=inside)
            dc = dc * f
            dh = (tl.dot(d_i, w_i, input_precision=PRECISION) + tl.dot(d_f, w_f, input_precision=PRECISION)
                  + tl.dot(d_o, w_o, input_precision=PRECISION) + tl.dot(d_g, w_g, input_precision=PRECISION))



def padded(hidden: int) -> int:
    """The register tile's width: a power of two, at least 16 (``tl.dot``'s smallest)."""
    return max(16, 1 << (hidden - 1).bit_length())


class TritonRecurrence(torch.autograd.Function):
    """Same contract as :class:`~hydroprobe.models.ensemble_recurrence.FusedRecurrence`.

    ``x (R, B, T, I)``, ``w_ih (R, G, I)``, ``w_hh (R, G, H)``, ``bias (R, G)`` → ``h_T (R, B, H)``;
    ``block``: samples per program; ``precision``: see the module.
    """

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, bias, workspace=None, block: int | None = None,
                precision: str | None = None):
        block, precision = block or BLOCK, precision or PRECISION
        replicates, batch, steps, n_inputs = x.shape
        gates, hidden = w_hh.shape[1], w_hh.shape[2]
        shapes = [(replicates, steps, batch, gates), (replicates, steps, batch, hidden),
                  (replicates, steps + 1, batch, hidden)]
        workspace = workspace or Workspace()
        buffers, owned = workspace.take(shapes, x)
        gate_buffer, cells, hiddens = buffers
        inputs = x.transpose(1, 2).reshape(replicates, steps * batch, n_inputs)
        torch.baddbmm(bias.unsqueeze(1), inputs, w_ih.transpose(1, 2),
                      out=gate_buffer.view(replicates, steps * batch, gates))
        hiddens[:, 0].zero_()
        out = x.new_empty(replicates, batch, hidden)
        grid = (replicates, -(-batch // block))
        _forward[grid](gate_buffer, w_hh.contiguous(), cells, hiddens, out, batch, T=steps,
                       H=hidden, HP=padded(hidden), BB=block, PRECISION=precision,
                       num_warps=WARPS, num_stages=STAGES)
        ctx.save_for_backward(inputs, w_hh, gate_buffer, cells, hiddens)
        ctx.workspace, ctx.owned, ctx.block, ctx.precision = workspace, owned, block, precision
        return out

    @staticmethod
    def backward(ctx, grad_h):
        inputs, w_hh, gate_buffer, cells, hiddens = ctx.saved_tensors
        replicates, steps, batch, gates = gate_buffer.shape
        hidden = gates // 4
        grid = (replicates, -(-batch // ctx.block))
        _backward[grid](grad_h.contiguous(), w_hh.contiguous(), gate_buffer, cells, batch, T=steps,
                        H=hidden, HP=padded(hidden), BB=ctx.block, PRECISION=ctx.precision,
                        num_warps=WARPS, num_stages=STAGES)
        d_pre = gate_buffer.view(replicates, steps * batch, gates).transpose(1, 2)
        previous = hiddens[:, :steps].reshape(replicates, steps * batch, hidden)
        d_w_hh = torch.bmm(d_pre, previous)
        d_w_ih = torch.bmm(d_pre, inputs)
        d_bias = d_pre.sum(dim=2)
        if ctx.owned:
            ctx.workspace.release()
        return None, d_w_ih, d_w_hh, d_bias, None, None, None

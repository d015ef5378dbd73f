"""The LSTM recurrence for R independent replicates at once.

Shapes: R replicates, B samples, T time steps, I inputs, H hidden units,
G = 4H gates stored in the order **i, f, o, g** (torch uses i, f, g, o; the
three sigmoid gates are kept together so one call activates them).
Weights are ``w_ih (R, G, I)``, ``w_hh (R, G, H)``, ``bias (R, G)``
(= ``b_ih + b_hh``). Each function returns the last hidden state
``(R, B, H)``: the paper's model is sequence-to-one.

* :class:`FusedRecurrence` (training): forward stores what backward needs,
  backward is a hand-written BPTT loop. Runs feature-major, ``(R, G, B)``
  per step, so each gate is one contiguous block (elementwise ops on
  strided gate slices measured 2.4x slower), and folds the input
  projection into the recurrent product: ``[W_hh | W_ih | b] @ [h; x_t; 1]``
  (a separate K = 2 projection of all steps measured slower on CPU than
  the 6 % more FLOPs of K = H + I + 1).
* :func:`recurrence_autograd`: plain ops under autograd, the readable
  reference and what ``torch.compile`` can fuse (GPU flag).
* :func:`recurrence_inference`: forward only, nothing stored (validation).
"""

from __future__ import annotations

import torch


def stacked_weights(w_ih: torch.Tensor, w_hh: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``[W_hh | W_ih | b]``: ``(R, G, H + I + 1)``, the left operand of every step's product."""
    return torch.cat([w_hh, w_ih, bias.unsqueeze(2)], dim=2)


class Workspace:
    """Storage the fused forward fills and its backward reads, kept from batch to batch.

    Fresh buffers of ~1 GB per batch (R = 16, T = 365, B = 256) cost ~0.3 s
    of page faults each time. A buffer is lent to one forward until its
    backward ends; a second forward before that gets fresh buffers.
    """

    def __init__(self) -> None:
        self._buffers: tuple[torch.Tensor, ...] = ()
        self._lent = False

    def take(
        self, shapes: list[tuple[int, ...]], like: torch.Tensor
    ) -> tuple[tuple[torch.Tensor, ...], bool]:
        """The buffers and whether they are the workspace's (to be handed back by :meth:`release`)."""
        if self._lent:
            return tuple(like.new_empty(s) for s in shapes), False
        reusable = [tuple(b.shape) for b in self._buffers] == shapes and all(
            b.device == like.device and b.dtype == like.dtype for b in self._buffers
        )
        if not reusable:
            self._buffers = ()  # free the old ones before allocating
            self._buffers = tuple(like.new_empty(s) for s in shapes)
        self._lent = True
        return self._buffers, True

    def release(self) -> None:
        self._lent = False


class FusedRecurrence(torch.autograd.Function):
    """Whole-sequence LSTM with a hand-written backward (BPTT).

    Saved per step (feature-major): activations ``(T, R, G, B)``, cell
    states and their tanh ``(T(+1), R, H, B)``, and the product's right
    operand ``[h_{t-1}; x_t; 1]`` ``(T + 1, R, H + I + 1, B)``. Backward
    accumulates all weight gradients with one product per step against
    that operand.
    """

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, bias, workspace=None):
        replicates, batch, steps, n_inputs = x.shape
        hidden, gates = w_hh.shape[2], w_hh.shape[1]
        width = hidden + n_inputs + 1
        shapes = [
            (steps, replicates, gates, batch),
            (steps + 1, replicates, hidden, batch),
            (steps, replicates, hidden, batch),
            (steps + 1, replicates, width, batch),
        ]
        workspace = workspace or Workspace()
        buffers, owned = workspace.take(shapes, x)
        acts, cells, tanh_cells, operands = buffers
        weights = stacked_weights(w_ih, w_hh, bias)
        operands[0, :, :hidden].zero_()  # h_0; later rows are written by the loop
        operands[:steps, :, hidden : hidden + n_inputs].copy_(x.permute(2, 0, 3, 1))
        operands[:, :, -1].fill_(1.0)
        cells[0].zero_()
        for t in range(steps):
            a = torch.bmm(weights, operands[t], out=acts[t])
            a[:, : 3 * hidden].sigmoid_()
            a[:, 3 * hidden :].tanh_()
            i, f, o, g = a.split(hidden, dim=1)
            c = torch.mul(f, cells[t], out=cells[t + 1]).addcmul_(i, g)
            torch.mul(o, torch.tanh(c, out=tanh_cells[t]), out=operands[t + 1][:, :hidden])
        ctx.save_for_backward(w_hh, acts, cells, tanh_cells, operands)
        ctx.workspace, ctx.owned, ctx.n_inputs = workspace, owned, n_inputs
        return operands[steps][:, :hidden].transpose(1, 2).clone()

    @staticmethod
    def backward(ctx, grad_h):
        w_hh, acts, cells, tanh_cells, operands = ctx.saved_tensors
        steps, replicates, gates, batch = acts.shape
        hidden = gates // 4
        one = acts.new_ones(())
        grad_weights = acts.new_zeros(replicates, gates, operands.shape[2])
        d_gates = torch.empty_like(acts[0])
        d_i, d_f, d_o, d_g = d_gates.split(hidden, dim=1)
        dh = grad_h.transpose(1, 2).contiguous()
        dc = torch.zeros_like(dh)
        w_hh_t = w_hh.transpose(1, 2)
        for t in range(steps - 1, -1, -1):
            i, f, o, g = acts[t].split(hidden, dim=1)
            tanh_c = tanh_cells[t]
            torch.mul(dh, tanh_c, out=d_o)
            dc.addcmul_(dh * o, torch.addcmul(one, tanh_c, tanh_c, value=-1))
            torch.mul(dc, g, out=d_i)
            torch.mul(dc, cells[t], out=d_f)
            torch.mul(dc, i, out=d_g)
            sig = acts[t][:, : 3 * hidden]
            d_gates[:, : 3 * hidden].mul_(torch.addcmul(sig, sig, sig, value=-1))
            d_g.mul_(torch.addcmul(one, g, g, value=-1))
            dc.mul_(f)
            grad_weights.baddbmm_(d_gates, operands[t].transpose(1, 2))
            if t:
                dh = torch.bmm(w_hh_t, d_gates)
        if ctx.owned:
            ctx.workspace.release()
        n_inputs = ctx.n_inputs
        d_w_hh = grad_weights[:, :, :hidden].contiguous()
        d_w_ih = grad_weights[:, :, hidden : hidden + n_inputs].contiguous()
        return None, d_w_ih, d_w_hh, grad_weights[:, :, -1].contiguous(), None


def recurrence_autograd(x, w_ih, w_hh, bias, cell=None):
    """Reference recurrence, autograd does the backward; ``cell``: e.g. a compiled :func:`lstm_cell`."""
    cell = cell or lstm_cell
    hidden = w_hh.shape[2]
    gates_x = torch.matmul(x.permute(2, 0, 1, 3), w_ih.transpose(1, 2)) + bias.unsqueeze(1)
    w_hh_t = w_hh.transpose(1, 2)
    h = x.new_zeros(x.shape[0], x.shape[1], hidden)
    c = torch.zeros_like(h)
    for step in gates_x.unbind(0):  # not gates_x[t]: each select's backward would zero a (T, R, B, G) grad
        h, c = cell(step, h, c, w_hh_t, hidden)
    return h


def lstm_cell(gates_x, h, c, w_hh_t, hidden: int):
    """One step, batch-major; a free function so ``torch.compile`` can fuse it."""
    gates = torch.baddbmm(gates_x, h, w_hh_t)
    sig = gates[..., : 3 * hidden].sigmoid()
    i, f, o = sig.split(hidden, dim=-1)
    c = torch.addcmul(f * c, i, gates[..., 3 * hidden :].tanh())
    return o * c.tanh(), c


@torch.no_grad()
def recurrence_inference(x: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor, bias: torch.Tensor):
    """Forward only, feature-major like :class:`FusedRecurrence`, storing nothing.

    ``x`` is ``(B, T, I)`` (the same windows for every replicate) or ``(R, B, T, I)``.
    """
    replicates, gates, hidden = w_hh.shape
    batch, steps, n_inputs = x.shape[-3:]
    weights = stacked_weights(w_ih, w_hh, bias)
    operand = x.new_zeros(replicates, hidden + n_inputs + 1, batch)
    operand[:, -1] = 1.0
    inputs = x.transpose(-1, -3)  # (..., I, T, B)
    a = x.new_empty(replicates, gates, batch)
    c = x.new_zeros(replicates, hidden, batch)
    for t in range(steps):
        operand[:, hidden : hidden + n_inputs] = inputs[..., t, :]
        torch.bmm(weights, operand, out=a)
        a[:, : 3 * hidden].sigmoid_()
        a[:, 3 * hidden :].tanh_()
        i, f, o, g = a.split(hidden, dim=1)
        c.mul_(f).addcmul_(i, g)
        torch.mul(o, c.tanh(), out=operand[:, :hidden])
    return operand[:, :hidden].transpose(1, 2)

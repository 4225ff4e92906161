"""Robust DPO + NLL with a per-pair flip rate (paper.md §4.3).

For sequence log-probabilities summed over answer tokens,
h = [log pi(y_w|x) - log pi_ref(y_w|x)] - [log pi(y_l|x) - log pi_ref(y_l|x)] and

    L = [(1 - eps) * (-log sig(beta h)) - eps * (-log sig(-beta h))] / (1 - 2 eps) + alpha * NLL(y_w)

averaged over the batch. eps = 0 gives plain DPO + NLL (explicit labels). trl 1.16's "robust" loss
has a single global ``label_smoothing``, hence this function.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def rdpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
              ref_rejected: torch.Tensor, eps: torch.Tensor | float = 0.0, beta: float = 0.1,
              alpha: float = 1.0, nll_chosen: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """Batch-mean rDPO + alpha * NLL loss and per-pair parts.

    Parameters
    ----------
    policy_chosen, policy_rejected, ref_chosen, ref_rejected
        Summed log-probabilities of the answers, shape (batch,).
    eps
        Per-pair flip rate in [0, 0.5), shape (batch,) or a float.
    beta, alpha
        DPO temperature and NLL weight.
    nll_chosen
        NLL of the chosen answer (default ``-policy_chosen``, i.e. summed over tokens as in §4.3;
        pass a length-normalised NLL to use the per-token variant).

    Returns
    -------
    loss, {"h", "dpo", "nll", "reward_chosen", "reward_rejected"} (per pair, detached)
    """
    eps = torch.as_tensor(eps, dtype=policy_chosen.dtype, device=policy_chosen.device).expand_as(policy_chosen)
    if bool((eps < 0).any()) or bool((eps >= 0.5).any()):
        raise ValueError("flip rates must lie in [0, 0.5)")
    h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    dpo = ((1 - eps) * -F.logsigmoid(beta * h) - eps * -F.logsigmoid(-beta * h)) / (1 - 2 * eps)
    nll = -policy_chosen if nll_chosen is None else nll_chosen
    per_pair = dpo + alpha * nll
    parts = {"h": h.detach(), "dpo": dpo.detach(), "nll": nll.detach(),
             "reward_chosen": (beta * (policy_chosen - ref_chosen)).detach(),
             "reward_rejected": (beta * (policy_rejected - ref_rejected)).detach()}
    return per_pair.mean(), parts


def cdpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
              ref_rejected: torch.Tensor, eps: torch.Tensor | float = 0.0, beta: float = 0.1,
              alpha: float = 1.0, nll_chosen: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """Conservative DPO (soft labels): (1 - eps) (-log sig(beta h)) + eps (-log sig(-beta h)) + alpha NLL.

    The label is taken as correct with probability p = 1 - eps. At h = 0 the gradient in h is
    -beta (1 - 2 eps) / 2, i.e. the push *shrinks* by (1 - 2 eps) where rDPO multiplies it by
    1 / (1 - 2 eps); the loss is bounded below (its minimum sits at beta h = log((1 - eps) / eps)).
    Same signature and parts as :func:`rdpo_loss`.
    """
    eps = torch.as_tensor(eps, dtype=policy_chosen.dtype, device=policy_chosen.device).expand_as(policy_chosen)
    if bool((eps < 0).any()) or bool((eps >= 0.5).any()):
        raise ValueError("flip rates must lie in [0, 0.5)")
    h = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)
    dpo = (1 - eps) * -F.logsigmoid(beta * h) + eps * -F.logsigmoid(-beta * h)
    nll = -policy_chosen if nll_chosen is None else nll_chosen
    parts = {"h": h.detach(), "dpo": dpo.detach(), "nll": nll.detach(),
             "reward_chosen": (beta * (policy_chosen - ref_chosen)).detach(),
             "reward_rejected": (beta * (policy_rejected - ref_rejected)).detach()}
    return (dpo + alpha * nll).mean(), parts

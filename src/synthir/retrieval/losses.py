"""Training objectives sentence-transformers does not ship, written as its losses (an
``nn.Module`` taking ``(sentence_features, labels)``), so its trainer, samplers and router run
them unchanged.

- :class:`DisjInfoNCELoss`: several (noisy) positives per query (2504.05220).
- :class:`SoftQELoss`: contrastive loss plus distillation of an expanded-query teacher (2402.12663).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from sentence_transformers import util


class DisjInfoNCELoss(nn.Module):
    """Disjunctive InfoNCE: ``-log sum_{p in P(q)} softmax(s(q, .))_p`` over in-batch candidates.

    Columns: the anchor, then ``positive_0 .. positive_{m-1}``; ``labels`` holds how many of
    those columns are real positives for each row (the rest repeat ``positive_0`` as padding and
    are masked out of numerator and denominator). Every row's positives are the other rows'
    negatives, as in MultipleNegativesRankingLoss, which this equals when every row has one
    positive (a unit test checks it).
    """

    def __init__(self, model: nn.Module, scale: float = 20.0) -> None:
        super().__init__()
        self.model = model
        self.scale = scale

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        embeddings = [self.model(f)["sentence_embedding"] for f in sentence_features]
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        queries, columns = embeddings[0], embeddings[1:]
        b, m = queries.size(0), len(columns)
        counts = labels.to(queries.device).long().view(-1)
        if counts.numel() != b or int(counts.min()) < 1 or int(counts.max()) > m:
            raise ValueError(f"labels must count 1..{m} positives per row, got {counts.tolist()}")
        scores = util.cos_sim(queries, torch.cat(columns, dim=0)) * self.scale  # (b, m*b), column-major
        col = torch.arange(m, device=queries.device).repeat_interleave(b)  # which positive column
        row = torch.arange(b, device=queries.device).repeat(m)  # which row the candidate belongs to
        valid = col < counts[row]  # (m*b,): padding excluded everywhere
        own = valid.unsqueeze(0) & (row.unsqueeze(0) == torch.arange(b, device=queries.device).unsqueeze(1))
        neg_inf = torch.finfo(scores.dtype).min
        log_z = torch.logsumexp(scores.masked_fill(~valid.unsqueeze(0), neg_inf), dim=1)
        log_pos = torch.logsumexp(scores.masked_fill(~own, neg_inf), dim=1)
        return (log_z - log_pos).mean()

    def get_config_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "similarity_fct": "cos_sim"}


class SoftQELoss(nn.Module):
    """SoftQE: InfoNCE on (query, positive) plus ``weight`` x the squared L2 distance between
    the student's query embedding and the teacher's embedding of the expanded query (given as
    ``labels``, computed before training), both normalised to unit length first.

    The paper (2402.12663) matches raw dot-product embeddings; here retrieval scores by cosine,
    so the distance is taken where the scores live. Unit vectors' squared distance lies in
    [0, 4], on the scale of the InfoNCE term, so ``weight = 1`` balances them. On raw
    mean-pooled embeddings (norm ~10 for SPLADE-tiny, squared distances ~50) the distance
    outweighed InfoNCE twentyfold and, at lr 1e-3, collapsed the model (SciFact nDCG@10
    0.158 -> 0.015)."""

    def __init__(self, model: nn.Module, weight: float = 1.0, scale: float = 20.0) -> None:
        super().__init__()
        from sentence_transformers.sentence_transformer import losses

        self.model = model
        self.weight = weight
        self.contrastive = losses.MultipleNegativesRankingLoss(model, scale=scale)

    def forward(self, sentence_features: Iterable[dict[str, Tensor]], labels: Tensor) -> Tensor:
        embeddings = [self.model(f)["sentence_embedding"] for f in sentence_features]
        return self.compute_loss_from_embeddings(embeddings, labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        contrastive = self.contrastive.compute_loss_from_embeddings(embeddings, labels)
        teacher = nn.functional.normalize(labels.to(embeddings[0].device, embeddings[0].dtype), dim=1)
        student = nn.functional.normalize(embeddings[0], dim=1)
        distill = ((student - teacher) ** 2).sum(dim=1).mean()
        return contrastive + self.weight * distill

    def get_config_dict(self) -> dict[str, Any]:
        return {"weight": self.weight, **self.contrastive.get_config_dict()}

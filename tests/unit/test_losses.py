"""Disj-InfoNCE and SoftQE against values computed by hand, and Disj-InfoNCE = InfoNCE with one
positive (sentence-transformers' MultipleNegativesRankingLoss on the same embeddings)."""

import math

import pytest
import torch
from torch import nn

from synthir.retrieval.losses import DisjInfoNCELoss, SoftQELoss


class NoModel(nn.Module):
    """The losses are checked on given embeddings; no encoder runs."""


def unit(*rows):
    t = torch.tensor(rows, dtype=torch.float64)
    return t / t.norm(dim=1, keepdim=True)


def test_disj_infonce_by_hand():
    # two queries; row 0 has two positives, row 1 one (its second column is padding)
    q = unit([1.0, 0.0], [0.0, 1.0])
    p0 = unit([1.0, 0.0], [0.0, 1.0])
    p1 = unit([0.6, 0.8], [1.0, 0.0])  # row 1's padding must count nowhere
    loss = DisjInfoNCELoss(NoModel(), scale=2.0).compute_loss_from_embeddings([q, p0, p1], torch.tensor([2, 1]))
    # cosines of q0 with candidates (p0_0, p0_1, p1_0): 1, 0, 0.6; q1: 0, 1, 0.8
    e = math.exp
    l0 = -math.log((e(2 * 1.0) + e(2 * 0.6)) / (e(2 * 1.0) + e(0) + e(2 * 0.6)))
    l1 = -math.log(e(2 * 1.0) / (e(0) + e(2 * 1.0) + e(2 * 0.8)))
    assert loss.item() == pytest.approx((l0 + l1) / 2, rel=1e-9)


def test_disj_infonce_with_one_positive_equals_infonce():
    from sentence_transformers.sentence_transformer import losses

    g = torch.Generator().manual_seed(0)
    q, p = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    ours = DisjInfoNCELoss(NoModel()).compute_loss_from_embeddings([q, p], torch.ones(8))
    theirs = losses.MultipleNegativesRankingLoss(NoModel()).compute_loss_from_embeddings([q, p], torch.ones(8))
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)


def test_disj_infonce_rejects_counts_outside_the_columns():
    q = unit([1.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="positives per row"):
        DisjInfoNCELoss(NoModel()).compute_loss_from_embeddings([q, q], torch.tensor([1, 2]))


def test_softqe_adds_the_weighted_squared_distance_to_the_teacher():
    from sentence_transformers.sentence_transformer import losses

    q, p = unit([1.0, 0.0], [0.0, 1.0]), unit([1.0, 1.0], [0.0, 1.0])
    teacher = unit([0.0, 1.0], [0.0, 1.0])  # row 0 is orthogonal to its teacher: distance^2 = 2
    infonce = losses.MultipleNegativesRankingLoss(NoModel()).compute_loss_from_embeddings([q, p], teacher)
    loss = SoftQELoss(NoModel(), weight=0.5).compute_loss_from_embeddings([q, p], teacher)
    assert loss.item() == pytest.approx(infonce.item() + 0.5 * (2.0 + 0.0) / 2, rel=1e-9)


def test_softqe_distance_is_taken_between_unit_vectors():
    # mean-pooled encoders give norms near 10: a raw distance would outweigh InfoNCE ~20x
    from sentence_transformers.sentence_transformer import losses

    g = torch.Generator().manual_seed(0)
    q, p, t = (torch.randn(4, 8, generator=g, dtype=torch.float64) for _ in range(3))
    infonce = losses.MultipleNegativesRankingLoss(NoModel()).compute_loss_from_embeddings([q, p], t)
    unit_q, unit_t = q / q.norm(dim=1, keepdim=True), t / t.norm(dim=1, keepdim=True)
    expected = infonce.item() + ((unit_q - unit_t) ** 2).sum(dim=1).mean().item()
    assert SoftQELoss(NoModel()).compute_loss_from_embeddings([10 * q, p], 7 * t).item() == pytest.approx(expected, rel=1e-9)

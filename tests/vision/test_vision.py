"""minilib.vision: IO and augmentation, the memory network, the two-shot recipe's
pieces, determinism.

J and F themselves (hand-made masks, empty masks, the official boundary rule) are tested
in tests/metrics; here they are checked through the evaluation of a sequence.
"""

import numpy as np
import pytest
import torch

from minilib import metrics
from minilib.train import EMATeacher, Schedule, fit, mean_teacher
from minilib.vision import (
    STM,
    ClipSampler,
    ConvEncoder,
    TrainVideo,
    TwoShotLoss,
    bootstrapped_bce,
    colour_jitter,
    confidence_mask,
    evaluate_sequence,
    label_quality,
    memory_read,
    nearest_labeled,
    override_labels,
    propagate,
    pseudo_label_bank,
    random_affine,
    resize_masks,
    sample_clips,
    to_image,
    to_tensor,
    upsample_probs,
)
from minilib.vision import two_shot as two_shot_module

H, W = 16, 24


def tiny_stm(seed=0):
    torch.manual_seed(seed)
    return STM(widths=(4, 8), key_dim=4, value_dim=8, hidden=8).eval()


def toy_video(n=6, seed=0, labeled=None):
    """A square moving right over noise: frames (n, 3, H, W) and its masks."""
    g = np.random.default_rng(seed)
    imgs = g.integers(0, 80, size=(n, H, W, 3)).astype(np.uint8)
    masks = np.zeros((n, H, W), np.float32)
    for t in range(n):
        masks[t, 4:10, 2 + 2 * t : 8 + 2 * t] = 1
        imgs[t][masks[t] > 0] = (230, 40, 40)
    lab = np.ones(n, bool) if labeled is None else np.isin(np.arange(n), labeled)
    return TrainVideo("toy", to_tensor(imgs), torch.from_numpy(masks), lab)


# --------------------------------------------------------------------------------------
# IO


def test_to_tensor_round_trip_and_errors():
    img = np.random.default_rng(0).integers(0, 256, size=(2, 5, 7, 3)).astype(np.uint8)
    x = to_tensor(img)
    assert x.shape == (2, 3, 5, 7) and x.dtype == torch.float32
    np.testing.assert_array_equal(to_image(x), img)
    assert to_tensor(img[0]).shape == (3, 5, 7)
    with pytest.raises(ValueError, match="uint8"):
        to_tensor(img.astype(np.float32))


def test_resize_masks_keeps_ids_and_upsample_probs_shape():
    m = np.zeros((1, 8, 8), np.uint8)
    m[0, 2:6, 2:6] = 3
    r = resize_masks(m, (16, 16))
    assert (
        r.shape == (1, 16, 16) and set(np.unique(r)) == {0, 3} and (r == 3).sum() == 64
    )
    up = upsample_probs(torch.ones(2, 4, 6), (12, 8))
    assert up.shape == (2, 8, 12) and np.allclose(up, 1)
    with pytest.raises(ValueError, match="size"):
        resize_masks(m, (0, 4))


def test_random_affine_moves_frames_and_masks_together():
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(5, 3, H, W)
    out, masks, inside = random_affine(frames, frames[:, :1].clone(), generator=g)
    assert (
        out.shape == frames.shape
        and masks.shape == (5, 1, H, W)
        and inside.shape == (5, 1, H, W)
    )
    # the mask is the first channel of the frame: warped by the same map, it must stay
    # equal to it
    torch.testing.assert_close(masks, out[:, :1])
    assert not torch.allclose(out, frames)  # something happened
    # no transformation at all with zero ranges and no flip
    out0, m0, in0 = random_affine(
        frames,
        frames[:, :1],
        generator=g,
        degrees=0,
        scale=(1, 1),
        translate=0,
        shear=0,
        flip=False,
    )
    torch.testing.assert_close(out0, frames, atol=1e-5, rtol=0)
    assert bool(in0.all())


def test_colour_jitter_groups_share_a_draw():
    g = torch.Generator().manual_seed(1)
    frames = to_tensor(np.full((6, 4, 4, 3), 120, np.uint8))
    out = colour_jitter(frames, generator=g, groups=3)
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])
    assert not torch.equal(out[0], out[3])
    with pytest.raises(ValueError, match="groups"):
        colour_jitter(frames[:5], generator=g, groups=3)


# --------------------------------------------------------------------------------------
# memory network


def test_memory_read_shapes_and_weights():
    torch.manual_seed(0)
    mk, mv, qk = torch.randn(2, 4, 30), torch.randn(2, 6, 30), torch.randn(2, 4, 11)
    out, w = memory_read(mk, mv, qk)
    assert out.shape == (2, 6, 11) and w.shape == (2, 30, 11)
    torch.testing.assert_close(w.sum(1), torch.ones(2, 11))
    torch.testing.assert_close(out, mv @ w)
    _, wk = memory_read(mk, mv, qk, top_k=3)
    assert ((wk > 0).sum(1) == 3).all()
    torch.testing.assert_close(wk.sum(1), torch.ones(2, 11))
    with pytest.raises(ValueError, match="does not match"):
        memory_read(mk, mv[:, :, :29], qk)
    with pytest.raises(ValueError, match="does not match"):
        memory_read(mk, mv, qk[:, :3])


def test_memory_read_is_the_negative_l2_softmax():
    """The affinity is softmax over memory of -||k_i - q_j||^2 / sqrt(C): the nearest
    key dominates.
    """
    mk = torch.tensor([[[0.0, 10.0, 3.0]]])  # C_k = 1, three memory locations
    mv = torch.tensor([[[1.0, 2.0, 3.0]]])
    qk = torch.tensor([[[9.0]]])
    _, w = memory_read(mk, mv, qk)
    expected = torch.softmax(-((mk[0, 0] - 9.0) ** 2), dim=0)
    torch.testing.assert_close(w[0, :, 0], expected)


def test_encoder_and_stm_shapes():
    enc = ConvEncoder(3, (4, 8, 16))
    feats = enc(torch.zeros(2, 3, 32, 48))
    assert [tuple(f.shape) for f in feats] == [
        (2, 4, 16, 24),
        (2, 8, 8, 12),
        (2, 16, 4, 6),
    ]
    with pytest.raises(ValueError, match="divisible"):
        enc(torch.zeros(1, 3, 30, 48))
    m = tiny_stm()
    key, feats = m.encode_key(torch.zeros(3, 3, H, W))
    # learned key + position (2) + mean colour (3)
    assert key.shape == (3, 4 + 5, H // 4, W // 4)
    v = m.encode_value(feats[-1], torch.zeros(3, 1, H, W))
    assert v.shape == (3, 8 + 1, H // 4, W // 4)  # learned value + the mask itself
    logits = m.forward_clip(torch.zeros(2, 3, 3, H, W), torch.zeros(2, 1, H, W))
    assert logits.shape == (2, 2, H, W)
    plain = STM(
        widths=(4, 8),
        key_dim=4,
        value_dim=8,
        hidden=8,
        mask_value=False,
        key_cues=False,
    )
    key, feats = plain.encode_key(torch.zeros(3, 3, H, W))
    assert key.shape == (3, 4, H // 4, W // 4)
    assert plain.encode_value(feats[-1], torch.zeros(3, 1, H, W)).shape == (
        3,
        8,
        H // 4,
        W // 4,
    )
    assert plain.forward_clip(
        torch.zeros(2, 3, 3, H, W), torch.zeros(2, 1, H, W)
    ).shape == (2, 2, H, W)


def test_key_cues_carry_the_mask_to_the_same_place():
    """With the position cue weighted up, the read-out of the mask channel copies the
    memory mask in place.
    """
    m = tiny_stm()
    with torch.no_grad():
        # a sharp Gaussian prior: each cell reads itself
        m.log_position_weight.fill_(3.0)
        m.key_proj.weight.zero_()
        m.key_proj.bias.zero_()
        m.log_colour_weight.fill_(-20.0)
    frames = torch.zeros(2, 3, H, W)
    mask = torch.zeros(1, 1, H, W)
    mask[..., 4:12, 8:16] = 1
    key, feats = m.encode_key(frames)
    value = m.encode_value(feats[-1][:1], mask)
    readout, _ = memory_read(key[:1].flatten(2), value.flatten(2), key[1:].flatten(2))
    carried = readout[0, -1].view(H // 4, W // 4)
    expected = torch.nn.functional.adaptive_avg_pool2d(mask, (H // 4, W // 4))[0, 0]
    torch.testing.assert_close(carried, expected, atol=1e-4, rtol=0)


def test_downsample_masks():
    from minilib.vision import downsample_masks

    m = np.zeros((1, 8, 8), np.uint8)
    m[0, :4, :6] = 255  # a 4 x 6 block: full cells and one half-covered column of cells
    d = downsample_masks(m, (4, 4))
    assert d.shape == (1, 4, 4) and d.dtype == torch.float32
    assert d[0].tolist() == [[1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]


def test_propagate_shapes_and_first_frame():
    video = toy_video()
    m = tiny_stm()
    probs = propagate(m, video.frames, video.labels[0], mem_every=2)
    assert probs.shape == (6, H, W)
    assert torch.equal(probs[0], video.labels[0])
    assert float(probs.min()) >= 0 and float(probs.max()) <= 1
    with pytest.raises(ValueError, match="mem_every"):
        propagate(m, video.frames, video.labels[0], mem_every=0)
    with pytest.raises(ValueError, match="match"):
        propagate(m, video.frames, video.labels[0][:-1])


# --------------------------------------------------------------------------------------
# two-shot pieces


def test_nearest_labeled_merge_rule():
    # two labeled frames: before the first -> first; after the last -> last; between ->
    # nearest, the midpoint (5 is 2 from 3 and 2 from 7) -> the earlier one (forward
    # propagation)
    assert nearest_labeled(10, [3, 7]).tolist() == [3, 3, 3, 3, 3, 3, 7, 7, 7, 7]
    # 4.5 is no frame
    assert nearest_labeled(9, [7, 2]).tolist() == [2, 2, 2, 2, 2, 7, 7, 7, 7]
    assert nearest_labeled(5, [0]).tolist() == [0] * 5
    assert nearest_labeled(4, [0, 3]).tolist() == [0, 0, 3, 3]
    assert nearest_labeled(3, [0, 1, 2]).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="at least one"):
        nearest_labeled(5, [])
    with pytest.raises(ValueError, match="out of range"):
        nearest_labeled(5, [5])


def test_pseudo_label_bank_takes_forward_and_backward_propagation(monkeypatch):
    """Each frame takes the propagation from its nearest labeled frame, in the right
    direction.
    """
    calls = []

    def fake_propagate(model, frames, first_mask, **kw):
        # encode (source frame value, direction, step) in the prediction: frames carry
        # their index
        idx = frames[:, 0, 0, 0]
        calls.append(idx.tolist())
        return idx[:, None, None].expand(-1, *frames.shape[-2:]).clone() / 100

    monkeypatch.setattr(two_shot_module, "propagate", fake_propagate)
    n = 10
    frames = (
        torch.arange(n, dtype=torch.float32)[:, None, None, None]
        .expand(n, 3, 2, 2)
        .clone()
    )
    labeled = {3: torch.full((2, 2), 0.5), 7: torch.full((2, 2), 0.25)}
    probs, source = pseudo_label_bank(None, frames, labeled)
    assert source.tolist() == nearest_labeled(n, [3, 7]).tolist()
    # every frame's value is its own index (the fake model returns the frame it was
    # given) ...
    for t in set(range(n)) - {3, 7}:
        assert float(probs[t, 0, 0]) == pytest.approx(t / 100)
    # ... labeled frames keep their labels, and the calls ran forward from 3 to 5,
    # backward from 3 to 0, forward from 7 to 9 and backward from 7 to 6
    assert float(probs[3, 0, 0]) == 0.5 and float(probs[7, 0, 0]) == 0.25
    assert sorted(calls) == sorted([[3, 4, 5], [3, 2, 1, 0], [7, 8, 9], [7, 6]])


def test_confidence_and_override_rule():
    p = torch.tensor([0.995, 0.95, 0.5, 0.05, 0.004])
    assert confidence_mask(p, 0.9).tolist() == [True, True, False, True, True]
    bank = torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0])
    # only the two predictions with confidence >= 0.99 replace the bank's labels
    assert override_labels(bank, p, 0.99).tolist() == [1.0, 0.0, 1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="threshold"):
        confidence_mask(p, 0.3)


def test_bootstrapped_bce():
    logits = torch.tensor([[[0.0, 2.0, -3.0, 1.0]]])
    target = torch.tensor([[[1.0, 1.0, 1.0, 0.0]]])
    per_pixel = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target, reduction="none"
    )[0, 0]
    torch.testing.assert_close(bootstrapped_bce(logits, target), per_pixel.mean())
    hardest_two = per_pixel.sort(descending=True).values[:2].mean()
    torch.testing.assert_close(bootstrapped_bce(logits, target, top_p=0.5), hardest_two)
    # the two hardest pixels are not supervised
    weight = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]])
    torch.testing.assert_close(
        bootstrapped_bce(logits, target, weight), per_pixel[:2].mean()
    )
    torch.testing.assert_close(
        bootstrapped_bce(logits, target, weight, top_p=0.5), per_pixel[0]
    )
    assert float(bootstrapped_bce(logits, target, torch.zeros_like(target))) == 0.0


def test_sample_clips_modes():
    rng = np.random.default_rng(0)
    video = toy_video(n=30, labeled=[4, 20])
    for mode in ("all", "labeled", "semi"):
        vids, clips = sample_clips([video], mode, 200, rng, max_skip=5)
        assert vids.shape == (200,) and clips.shape == (200, 3)
        assert clips.min() >= 0 and clips.max() < 30
        if mode == "labeled":
            assert set(np.unique(clips)) <= {4, 20}
        if mode == "semi":
            assert set(np.unique(clips[:, 0])) <= {4, 20}
            other = np.where(clips[:, 0] == 4, 20, 4)
            with_other = (clips[:, 1:] == other[:, None]).any(1)
            # half of the clips hold the other labeled frame
            assert 0.3 < with_other.mean() < 0.7
            near = np.abs(clips[:, 1:] - clips[:, :1]) <= 5
            assert (near | (clips[:, 1:] == other[:, None])).all()
        if mode == "all":
            assert (np.abs(clips[:, 1:] - clips[:, :1]) <= 5).all()
            # frames in time order away from the start, in either direction
            d = clips[:, 1:] - clips[:, :1]
            assert ((d > 0).all(1) | (d < 0).all(1)).all()
    with pytest.raises(ValueError, match="mode"):
        sample_clips([video], "some", 1, rng)


def _train(model, videos, mode, steps, seed, teacher=None, **loss_kw):
    """The chapter's training: clips, the two-shot loss, Adam with a cosine schedule
    and, in phase 1, the mean teacher."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    callbacks = [Schedule(torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps))]
    if teacher is not None:
        callbacks.append(EMATeacher(teacher, 0.99))
    return fit(
        model,
        ClipSampler(videos, mode, 2, seed=seed),
        TwoShotLoss(steps, teacher=teacher, **loss_kw),
        opt,
        steps=steps,
        callbacks=callbacks,
        progress=False,
    )


def test_clip_sampler_batches():
    video = toy_video(n=8, labeled=[1, 6])
    batches = iter(ClipSampler([video], "semi", 3, seed=0))
    first, second = next(batches), next(batches)
    assert first["frames"].shape == (3, 3, 3, H, W)
    assert first["labels"].shape == (3, 3, H, W) and first["known"].shape == (3, 3)
    assert (first["step"], second["step"]) == (0, 1) and first["mode"] == "semi"
    assert first["known"][:, 0].all()  # a semi clip starts at a labeled frame
    with pytest.raises(ValueError, match="mode"):
        ClipSampler([video], "some", 1)


def test_two_shot_training_is_deterministic():
    def run():
        m = tiny_stm(seed=3)
        history = _train(m, [toy_video(n=8)], "all", 3, seed=5)
        return m, [r["loss"] for r in history.steps]

    (m1, loss1), (m2, loss2) = run(), run()
    assert loss1 == loss2 and len(loss1) == 3
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="teacher"):
        _train(tiny_stm(), [toy_video(labeled=[0, 5])], "semi", 1, seed=0)


def test_semi_mode_supervises_only_confident_teacher_pixels():
    video = toy_video(n=8, labeled=[0, 7])
    m = tiny_stm()
    teacher = mean_teacher(m)
    history = _train(m, [video], "semi", 2, seed=0, teacher=teacher, confidence=0.99)
    # an untrained teacher is unsure almost everywhere: few pixels of the unlabeled
    # frames are supervised
    assert all(0 <= r["supervised"] < 1 for r in history.steps)
    history = _train(tiny_stm(), [video], "labeled", 2, seed=0)
    assert [r["supervised"] for r in history.steps] == [1.0, 1.0]


def test_override_replaces_bank_labels_only_late_and_only_where_confident():
    video = toy_video(n=8, labeled=[0, 7])
    bank = torch.ones_like(video.labels)  # a bank that says "object" everywhere
    video = TrainVideo("bank", video.frames, bank, video.labeled)
    loss = TwoShotLoss(10, top_p=(1.0, 1.0), override_after=0.5, override_threshold=0.5)
    batch = next(iter(ClipSampler([video], "all", 2, seed=0)))
    m = tiny_stm()
    early, _ = loss(m, batch)
    late, _ = loss(m, {**batch, "step": 5})
    # with a threshold of 0.5 every prediction is confident: late in training the
    # model's own predictions replace the bank of the unlabeled frames
    logits = m.forward_clip(batch["frames"], batch["labels"][:, :1])
    hard = (torch.sigmoid(logits) >= 0.5).float()
    unknown = ~batch["known"][:, 1:, None, None]
    target = torch.where(unknown, hard, batch["labels"][:, 1:])
    expected = bootstrapped_bce(logits.flatten(0, 1), target.flatten(0, 1))
    torch.testing.assert_close(late, expected)
    assert not torch.equal(early, late)
    with pytest.raises(ValueError, match="exclude"):
        TwoShotLoss(10, teacher=m, override_after=0.5)


def test_evaluate_sequence_and_label_quality_against_hand_values():
    video = toy_video()
    gt = video.labels.numpy().astype(np.uint8)

    m = tiny_stm()
    scores = evaluate_sequence(m, video.frames, gt)
    assert scores["n_frames"] == 4 and scores["probs"].shape == (6, H, W)
    # the same numbers as j_and_f on the thresholded predictions, first and last frame
    # excluded
    pred = scores["probs"].numpy() >= 0.5
    ref = metrics.j_and_f(pred[1:-1], gt[1:-1] > 0)
    assert scores["J"] == pytest.approx(ref["J"]) and scores["F"] == pytest.approx(
        ref["F"]
    )
    q = label_quality(video.labels, gt, skip=[0])
    assert np.isnan(q[0]) and np.allclose(q[1:], 1.0)

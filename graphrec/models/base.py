"""The model contract every graphrec recommender obeys (after implicit's ``RecommenderBase``).

A model is an ``nn.Module`` over contiguous node indices (``0..num_users-1``,
``0..num_movies-1``) with:

- ``fit(split, config=None, **overrides) -> self``: train (the one loop of
  :mod:`graphrec.train`, with the objective the class declares in ``fit_objective`` and its
  own ``train_defaults``; closed-form and walk-based models override ``fit``). The model takes
  the split's train movies (filtered by ``recommend``) and raw-id maps (``model.ids``) from it;
- ``score(users [B], movies [B]) -> [B]``: a score per (user, movie) pair, higher is better;
- ``score_all(users [B]) -> [B, num_movies]``: scores of every movie;
- ``recommend(users, k, exclude_seen=True) -> (movies [B, k], scores [B, k])`` in **raw ids**
  (the data set's own user and movie ids), best first; ``recommend_indices`` is the same on
  node indices;
- ``save(path)`` / ``Recommender.load(path)``: a folder with ``weights.pt`` (plain tensors,
  loaded with ``weights_only=True``) and ``model.json`` (class, constructor arguments, id maps).

Users as vectors, and new users folded in without retraining (every benchmark model):

- ``user_vectors(users [B]) -> [B, d]``: the representation a model scores a known user by
  (its embedding, LightGCN's propagated one, item2vec's profile, the feature MLP's
  attributes and id embedding); ``score_user_vectors(vectors [B, d]) -> [B, num_movies]``
  and ``score_vector_pairs(vectors [N, d], rows [P], movies [P]) -> [P]`` score any such
  vectors, so ``score_user_vectors(user_vectors(u))`` is ``score_all(u)``;
- ``fold_in(liked, disliked=None) -> [B, d]``: the vector of a new user who liked (and
  disliked) these movies, with every weight of the model frozen. By default the model's own
  training objective (``bce`` or ``bpr``, seeded sampled negatives) is minimised over the
  new vector alone (:attr:`Recommender.fold_in_defaults`); item2vec and ItemPop have closed
  forms, the feature MLP also takes the new user's attributes. ``can_fold_in()`` says whether
  a class folds in; :func:`fold_in_models` names those that do; :class:`FoldInError` is the
  refusal;
- ``item_vectors() -> [num_movies, d]``: each movie in the model's item space, the vectors
  whose cosine is the model's movie similarity ("because you liked ..." reasons,
  similar-movie queries of any embedding model, maps of the catalogue). ItemPop has none;
- ``known_movies() -> [num_movies] bool``: the movies whose vectors were trained (at least
  one train positive; item2vec: an edge in its movie graph).

Constructor arguments are typed hyperparameters whose defaults are the best settings known on
the valid stage (:mod:`graphrec.presets` holds the per-data-set exceptions); ``seed`` seeds the
initial weights. A subclass records its arguments in ``self.hparams`` so that ``load`` can
rebuild it.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.data.ids import IdMaps, UnknownMovieError, UnknownUserError
from graphrec.data.split import csr_entries
from graphrec.io import CheckpointError, atomic_write, load_tensors, save_tensors

__all__ = [
    "Recommender",
    "FinalVectorModel",
    "MODEL_REGISTRY",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointMismatchError",
    "FoldInError",
    "fold_in_models",
]

MODEL_REGISTRY: dict[str, type[Recommender]] = {}


class FoldInError(ValueError):
    """A model that cannot fold in a new user, or a profile it cannot fold in."""


def fold_in_models() -> list[str]:
    """Names of the registered model classes that fold in new users."""
    return sorted(name for name, klass in MODEL_REGISTRY.items() if klass.can_fold_in())


class Recommender(nn.Module, ABC):
    """Abstract base of every recommender: see the module docstring for the contract.

    Args:
        num_users: number of user nodes.
        num_movies: number of movie nodes.
        seed: seeds torch's global generator before the subclass draws its initial weights
            (``None``: leave it as it is).
    """

    hparams: dict[str, Any]
    #: whether the model's scores depend on the user (ItemPop's do not)
    personalised: ClassVar[bool] = True
    #: the objective of :func:`graphrec.train.fit`: ``bce``, ``bpr`` or ``rating``
    fit_objective: ClassVar[str] = "bce"
    #: this model's best known training settings (fields of :class:`graphrec.train.TrainConfig`)
    train_defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not getattr(cls, "__abstractmethods__", None):
            MODEL_REGISTRY[cls.__name__] = cls

    def __init__(self, num_users: int, num_movies: int, seed: int | None = None) -> None:
        super().__init__()
        if num_users <= 0 or num_movies <= 0:
            raise ValueError(f"need at least one user and one movie, got {num_users}, {num_movies}")
        if seed is not None:
            torch.manual_seed(seed)
        self.num_users, self.num_movies = int(num_users), int(num_movies)
        self.hparams = {"num_users": self.num_users, "num_movies": self.num_movies}
        self.register_buffer("seen_ptr", torch.zeros(self.num_users + 1, dtype=torch.long))
        self.register_buffer("seen_movies", torch.zeros(0, dtype=torch.long))
        self.meta: dict[str, Any] = {}
        self.ids: IdMaps | None = None
        self.history = None

    @classmethod
    def from_split(cls, split, data=None, **kwargs: Any) -> Recommender:
        """A model sized for ``split`` (``data``: the graph, for models that read node
        attributes); ``kwargs`` are constructor arguments."""
        return cls(split.num_users, split.num_movies, **kwargs)

    # ------------------------------------------------------------------ training
    def training_defaults(self) -> dict[str, Any]:
        """This model's training settings (:attr:`train_defaults`; a model whose best
        settings depend on its arguments overrides this)."""
        return dict(self.train_defaults)

    def fit(self, split, config=None, **overrides: Any) -> Recommender:
        """Train on ``split`` with :func:`graphrec.train.fit`; returns the model, its
        :class:`~graphrec.train.History` in ``self.history``.

        Args:
            split: the interaction split (its valid stage selects the best epoch).
            config: a :class:`~graphrec.train.TrainConfig`; fields left ``None`` take the
                model's defaults.
            overrides: fields of the config to change (``model.fit(split, epochs=5)``).
        """
        from graphrec.train import fit

        self.history = fit(self, split, config, **overrides)
        return self

    # ------------------------------------------------------------------ contract
    @abstractmethod
    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] scores of (users[b], movies[b]) pairs."""

    def score_all(self, users: Tensor) -> Tensor:
        """[B, num_movies] scores of every movie for each user (default: via :meth:`score`)."""
        users = self.check_users(users)
        b = users.numel()
        movies = torch.arange(self.num_movies, device=users.device)
        return self.score(users.repeat_interleave(self.num_movies), movies.repeat(b)).view(
            b, self.num_movies
        )

    @property
    def device(self) -> torch.device:
        for t in self.parameters():
            return t.device
        return self.seen_ptr.device

    def check_users(self, users: Tensor | int | list[int]) -> Tensor:
        """Users as a 1-D long tensor on the model's device; unknown indices raise
        :class:`UnknownUserError` naming the id and the valid range."""
        users = torch.as_tensor(users, dtype=torch.long).view(-1)
        bad = (users < 0) | (users >= self.num_users)
        if bad.any():
            raise UnknownUserError(
                f"user index {int(users[bad][0])} is out of range: this model knows users "
                f"0..{self.num_users - 1} (node indices; map raw ids with "
                f"graphrec.data.user_index)"
            )
        return users.to(self.device)

    def check_movies(self, movies: Tensor | int | list[int]) -> Tensor:
        movies = torch.as_tensor(movies, dtype=torch.long).view(-1)
        bad = (movies < 0) | (movies >= self.num_movies)
        if bad.any():
            raise UnknownMovieError(
                f"movie index {int(movies[bad][0])} is out of range: this model knows movies "
                f"0..{self.num_movies - 1}"
            )
        return movies.to(self.device)

    def remember_seen(self, split) -> Recommender:
        """Store the split's train movies per user (filtered by ``recommend``) and its raw-id
        maps (``self.ids``)."""
        if (split.num_users, split.num_movies) != (self.num_users, self.num_movies):
            raise ValueError(
                f"the split has {split.num_users} users and {split.num_movies} movies, this "
                f"{type(self).__name__} {self.num_users} and {self.num_movies}: build the model "
                "for the split's graph"
            )
        self.seen_ptr = split.train_ptr.clone().to(self.seen_ptr.device)
        self.seen_movies = split.train_movies.clone().to(self.seen_ptr.device)
        if getattr(split, "ids", None) is not None:
            self.ids = split.ids
        return self

    def _id_maps(self) -> IdMaps:
        if self.ids is None:
            raise RuntimeError(
                f"this {type(self).__name__} has no raw-id maps: fit it on a split of a graph "
                "with raw ids (temporal_split(load_movielens(...))), or name users by node index "
                "with recommend_indices"
            )
        return self.ids

    @torch.no_grad()
    def recommend(
        self, users: Any, k: int = 10, exclude_seen: bool = True
    ) -> tuple[Tensor, Tensor]:
        """Top-``k`` movies for raw user id(s) ``users``: ``(movies [B, k], scores [B, k])``,
        raw movie ids, best first.

        Users are named by the data set's own ids (MovieLens user 196), resolved through the
        id maps the model took from its split; an unknown id raises
        :class:`~graphrec.data.ids.UnknownUserError`. ``exclude_seen`` drops each user's
        train movies.
        """
        ids = self._id_maps()
        raw = [users] if isinstance(users, (int, str)) or not hasattr(users, "__iter__") else users
        if isinstance(raw, Tensor):
            raw = raw.view(-1).tolist()
        index = torch.tensor(ids.user_indices(raw), dtype=torch.long)
        top, scores = self.recommend_indices(index, k, exclude_seen)
        movies = torch.as_tensor(ids.movies)[top.cpu()] if _numeric(ids.movies) else None
        if movies is None:  # raw ids that are not numbers cannot live in a tensor
            return [ids.raw_movies(row) for row in top.tolist()], scores
        return movies, scores

    @torch.no_grad()
    def recommend_indices(
        self, users: Tensor | int | list[int], k: int = 10, exclude_seen: bool = True
    ) -> tuple[Tensor, Tensor]:
        """Top-``k`` movies per user node index: ``(indices [B, k], scores [B, k])``, best
        first. ``exclude_seen`` drops each user's train movies (stored by ``fit``)."""
        users = self.check_users(users)
        if not 1 <= k <= self.num_movies:
            raise ValueError(f"k must be in 1..{self.num_movies}, not {k}")
        was_training = self.training
        self.eval()
        try:
            scores = self.score_all(users).float().clone()
        finally:
            self.train(was_training)
        if exclude_seen:
            if self.seen_movies.numel() == 0 and self.seen_ptr[-1] == 0:
                raise RuntimeError(
                    "recommend(exclude_seen=True) needs the train movies: call fit(...) or "
                    "remember_seen(split) first, or pass exclude_seen=False"
                )
            rows, cols = csr_entries(self.seen_ptr, self.seen_movies, users)
            scores[rows, cols] = float("-inf")
        return top_k(scores, k)

    # ------------------------------------------------------------------ users as vectors
    #: settings of the default :meth:`fold_in` (the model's objective over one new vector):
    #: Adam ``steps`` and ``lr``; ``reg``: the L2 weight on the vector (``None``: the one
    #: training puts on a user vector, see :meth:`fold_in_reg`); ``num_negatives`` per liked
    #: movie each step (``None``: the model's training ``num_negatives``)
    fold_in_defaults: ClassVar[dict[str, Any]] = {
        "steps": 150,
        "lr": 0.05,
        "reg": None,
        "num_negatives": None,
    }

    def user_vectors(self, users: Tensor | int | list[int]) -> Tensor:
        """[B, d] the vectors the model scores known users (node indices) by; what
        :meth:`fold_in` returns for a new user. Models that fold in override it."""
        raise NotImplementedError(f"{type(self).__name__} does not score users as vectors")

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        """[P] scores of (``vectors[rows[p]]``, ``movies[p]``) for user vectors [N, d] (no
        index checks; differentiable in ``vectors``)."""
        raise NotImplementedError(f"{type(self).__name__} does not score users as vectors")

    def score_user_vectors(self, vectors: Tensor) -> Tensor:
        """[B, num_movies] scores of every movie for user vectors [B, d] (as :meth:`score_all`
        for known users; default: via :meth:`score_vector_pairs`)."""
        b = vectors.size(0)
        rows = torch.arange(b, device=vectors.device).repeat_interleave(self.num_movies)
        movies = torch.arange(self.num_movies, device=vectors.device).repeat(b)
        return self.score_vector_pairs(vectors, rows, movies).view(b, self.num_movies)

    def item_vectors(self) -> Tensor:
        """[num_movies, d] each movie in the model's item space: the vectors whose cosine is
        the model's movie similarity (recommendation reasons, similar-movie queries, maps).
        Models with an item space override it."""
        raise NotImplementedError(
            f"{type(self).__name__} has no item vectors (no movie embedding to compare)"
        )

    def known_movies(self) -> Tensor:
        """[num_movies] bool: movies with at least one train positive (trained vectors)."""
        known = torch.zeros(self.num_movies, dtype=torch.bool, device=self.seen_movies.device)
        known[self.seen_movies] = True
        return known

    @classmethod
    def can_fold_in(cls) -> bool:
        """Whether :meth:`fold_in` works for this class (it scores users as vectors)."""
        return cls.user_vectors is not Recommender.user_vectors

    def fold_in(self, liked: Any, disliked: Any = None, **options: Any) -> Tensor:
        """[B, d] vectors of new users from the movies they liked, every weight frozen.

        Args:
            liked: movie node indices one new user liked (a 1-D tensor or list: ``B = 1``),
                or a list of such lists, one per new user.
            disliked: movies each new user disliked, in the same form (or None): they are
                pushed down (explicit negatives) as well as never recommended.
            options: override :attr:`fold_in_defaults` (``steps``, ``lr``, ``reg``,
                ``num_negatives``) or ``seed`` (default 0) of the default method; the feature
                MLP also takes ``user_features``.

        Returns:
            vectors for :meth:`score_user_vectors` (``recommend_vectors`` ranks them).

        Raises:
            FoldInError: the class cannot fold in (the message names those that can), or a
                profile is empty or likes and dislikes the same movie.
        """
        if not self.can_fold_in():
            raise FoldInError(
                f"{type(self).__name__} cannot fold in a new user; models that can: "
                f"{', '.join(fold_in_models())}"
            )
        like = self._profiles(liked)
        dislike = self._profiles(disliked) if disliked is not None else [self._empty()] * len(like)
        if len(dislike) != len(like):
            raise FoldInError(f"{len(like)} liked profiles but {len(dislike)} disliked ones")
        for b, (pos, neg) in enumerate(zip(like, dislike, strict=True)):
            if pos.numel() == 0 and not self._folds_in_without_movies(options):
                raise FoldInError(f"new user {b} likes no movie: nothing to fold in")
            both = set(pos.tolist()) & set(neg.tolist())
            if both:
                raise FoldInError(
                    f"new user {b} both likes and dislikes movie index {min(both)}: keep it in "
                    "one of the two lists"
                )
        was_training = self.training
        self.eval()
        try:
            return self._fold_in(like, dislike, **options).detach()
        finally:
            self.train(was_training)

    def _empty(self) -> Tensor:
        return torch.zeros(0, dtype=torch.long, device=self.device)

    def _profiles(self, movies: Any) -> list[Tensor]:
        """One sorted, duplicate-free 1-D index tensor per user, checked against the model."""
        if isinstance(movies, Tensor):
            groups = [movies] if movies.dim() <= 1 else list(movies)
        else:
            movies = list(movies)
            flat = all(
                not isinstance(m, (list, tuple, Tensor)) or (isinstance(m, Tensor) and m.dim() == 0)
                for m in movies
            )
            groups = [movies] if flat else movies
        return [torch.unique(self.check_movies(g)) for g in groups]

    def _folds_in_without_movies(self, options: dict[str, Any]) -> bool:
        return False

    def _fold_in(self, liked: list[Tensor], disliked: list[Tensor], **options: Any) -> Tensor:
        """The default fold-in: the training objective over new vectors (see :meth:`fold_in`)."""
        init = self.user_vectors(torch.arange(self.num_users)).detach().mean(0)
        return self.fold_in_by_objective(liked, disliked, init.expand(len(liked), -1), **options)

    def fold_in_reg(self, counts: Tensor) -> Tensor:
        r"""[B] the L2 weight on each new vector, against the mean of its objective over its
        ``counts`` [B] liked movies: the weight training puts on a user vector.

        ``bpr`` models with a ``reg`` (:math:`\lambda`, on each triple's embeddings):
        :math:`\lambda / 2`, as each triple of the user carries. ``bce`` models trained with
        Adam weight decay :math:`w` (``training_defaults()``): an epoch of ``N = (1 + k) E``
        examples adds :math:`N w / 2 \lVert p_u\rVert^2` against the *sum* of the user's
        losses, so :math:`N w / (2 n_u)` against their mean over its :math:`n_u` positives
        (``E``: the train positives the model was fitted on). Without either: 0.
        """
        counts = counts.clamp(min=1).float()
        if self.fit_objective == "bpr":
            return torch.full_like(counts, float(getattr(self, "reg", 0.0)) / 2)
        defaults = self.training_defaults()
        wd = float(defaults.get("weight_decay") or 0.0)
        k = int(defaults.get("num_negatives") or 4)
        examples = (1 + k) * int(self.seen_movies.numel())
        return examples * wd / (2 * counts)

    def fold_in_by_objective(
        self,
        liked: list[Tensor],
        disliked: list[Tensor],
        init: Tensor,
        free: Tensor | None = None,
        *,
        steps: int | None = None,
        lr: float | None = None,
        reg: float | None = None,
        num_negatives: int | None = None,
        seed: int = 0,
    ) -> Tensor:
        r"""Minimise the model's training objective over new user vectors alone.

        ``bce`` (pointwise): per new user, the mean over its liked movies of
        :math:`\mathrm{softplus}(-z_i) + \sum_{j} \mathrm{softplus}(z_j)` over
        ``num_negatives`` uniform negatives per liked movie (redrawn every step; a draw that
        hits a liked movie is dropped), plus :math:`\mathrm{softplus}(z_d)` per disliked movie.
        ``bpr`` (pairwise): the mean of :math:`-\log\sigma(z_i - z_j)` over the same draws,
        plus each (liked, disliked) pair. Both add ``reg`` :math:`\lVert v\rVert^2`
        (default: :meth:`fold_in_reg`, the weight training puts on a user vector). Adam
        for ``steps`` full-batch steps from ``init``. Each new user draws its negatives from
        its own generator seeded by ``seed``, and its loss and Adam's update touch its vector
        alone, so a profile gets the same vector whether it is folded in alone or with others
        (up to floating-point summation order), and the same call gives the same vectors.

        Args:
            liked, disliked: one index tensor per new user (``B`` users).
            init: [B, d] starting vectors.
            free: [d] bool, the entries that are optimised (default: all); the others keep
                ``init`` (the feature MLP's attributes).

        Returns:
            [B, d] the new vectors.
        """
        opts = {**self.fold_in_defaults}
        for key, value in (("steps", steps), ("lr", lr), ("reg", reg)):
            if value is not None:
                opts[key] = value
        k = (
            num_negatives
            or opts.get("num_negatives")
            or self.training_defaults().get("num_negatives", 4)
        )
        objective = self.fit_objective
        if objective not in ("bce", "bpr"):
            raise FoldInError(
                f"this {type(self).__name__} was trained with the {objective!r} objective; "
                "fold-in needs a ranking model (bce or bpr)"
            )
        dev, m = self.device, self.num_movies
        init = init.detach().to(dev).float()
        b = init.size(0)
        counts = torch.tensor([p.numel() for p in liked], device=dev)
        rows_pos = torch.repeat_interleave(torch.arange(b, device=dev), counts)
        pos = torch.cat(liked).to(dev) if liked else self._empty()
        rows_dis = torch.repeat_interleave(
            torch.arange(b, device=dev), torch.tensor([d.numel() for d in disliked], device=dev)
        )
        dis = torch.cat(disliked).to(dev) if disliked else self._empty()
        liked_keys = torch.sort(rows_pos * m + pos).values
        per_user = counts.clamp(min=1).float()
        l2 = (
            self.fold_in_reg(counts)
            if opts["reg"] is None
            else torch.full_like(per_user, float(opts["reg"]))
        )
        gens = [torch.Generator().manual_seed(seed) for _ in range(b)]
        draws = (counts * k).tolist()
        param = init.clone().requires_grad_(True)
        keep = None if free is None else free.to(dev).view(1, -1)
        opt = torch.optim.Adam([param], lr=opts["lr"])
        # each (liked, disliked) pair of a user, for the pairwise objective
        if objective == "bpr" and dis.numel():
            starts = torch.cumsum(counts, 0) - counts
            reps = counts[rows_dis]
            pair_dis = torch.repeat_interleave(torch.arange(dis.numel(), device=dev), reps)
            offset = torch.arange(int(reps.sum()), device=dev) - torch.repeat_interleave(
                torch.cumsum(reps, 0) - reps, reps
            )
            pair_pos = torch.repeat_interleave(starts[rows_dis], reps) + offset
        for _ in range(int(opts["steps"])):
            vec = param if keep is None else torch.where(keep, param, init)
            neg = torch.cat(
                [torch.randint(m, (n,), generator=g) for g, n in zip(gens, draws, strict=True)]
            ).to(dev)
            rows_neg = rows_pos.repeat_interleave(k)
            hit = torch.searchsorted(liked_keys, rows_neg * m + neg)
            taken = liked_keys[hit.clamp(max=max(liked_keys.numel() - 1, 0))] == rows_neg * m + neg
            weight = (~taken).float() if liked_keys.numel() else torch.ones_like(neg).float()
            z_pos = self.score_vector_pairs(vec, rows_pos, pos)
            z_neg = self.score_vector_pairs(vec, rows_neg, neg)
            terms = torch.zeros(b, device=dev)
            if objective == "bce":
                terms = terms.index_add(0, rows_pos, F.softplus(-z_pos))
                terms = terms.index_add(0, rows_neg, weight * F.softplus(z_neg))
                if dis.numel():
                    terms = terms.index_add(
                        0, rows_dis, F.softplus(self.score_vector_pairs(vec, rows_dis, dis))
                    )
                loss_users = terms / per_user
            else:
                diff = z_pos.repeat_interleave(k) - z_neg
                terms = terms.index_add(0, rows_neg, weight * F.softplus(-diff))
                loss_users = terms / (per_user * k)
                if dis.numel():
                    z_dis = self.score_vector_pairs(vec, rows_dis, dis)
                    pairs = F.softplus(-(z_pos[pair_pos] - z_dis[pair_dis]))
                    extra = torch.zeros(b, device=dev).index_add(0, rows_dis[pair_dis], pairs)
                    loss_users = loss_users + extra / torch.bincount(
                        rows_dis[pair_dis], minlength=b
                    ).clamp(min=1)
            penalty = (vec if keep is None else vec * keep).pow(2).sum(1)
            loss = (loss_users + l2 * penalty).sum()
            (grad,) = torch.autograd.grad(loss, [param])
            param.grad = grad
            opt.step()
        with torch.no_grad():
            return param.detach() if keep is None else torch.where(keep, param, init).detach()

    @torch.no_grad()
    def recommend_vectors(
        self, vectors: Tensor, k: int = 10, exclude: Any = None
    ) -> tuple[Tensor, Tensor]:
        """Top-``k`` movie indices for user vectors [B, d] (e.g. from :meth:`fold_in`):
        ``(indices [B, k], scores [B, k])``, best first; ``exclude`` is one index list per
        vector (its liked and disliked movies) or None."""
        if not 1 <= k <= self.num_movies:
            raise ValueError(f"k must be in 1..{self.num_movies}, not {k}")
        was_training = self.training
        self.eval()
        try:
            scores = self.score_user_vectors(vectors.to(self.device)).float().clone()
        finally:
            self.train(was_training)
        if exclude is not None:
            for row, movies in enumerate(self._profiles(exclude)):
                scores[row, movies] = float("-inf")
        return top_k(scores, k)

    # ------------------------------------------------------------------ persistence
    def extra_state(self) -> dict[str, Any]:
        """JSON-serialisable state beyond tensors (override when needed)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`extra_state` returned."""

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path/weights.pt`` and ``path/model.json``; returns the folder.

        ``model.json`` holds the class, the constructor arguments, the raw-id maps (``ids``)
        with their digest (``ids_digest``) and the digest of the train edges the model was
        fitted on (``train_digest``), so that :meth:`load` can refuse other data."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_tensors(path / "weights.pt", self.state_dict())
        spec = {
            "class": type(self).__name__,
            "hparams": self.hparams,
            "extra": self.extra_state(),
            "meta": self.meta,
            "ids": self.ids.to_json() if self.ids is not None else None,
            "ids_digest": _ids_digest(self.ids) if self.ids is not None else None,
            "train_digest": self._train_digest(),
        }
        with atomic_write(path / "model.json", "w") as fh:
            json.dump(spec, fh, indent=2)
        return path

    def _train_digest(self) -> str | None:
        """Digest of the train movies per user this model took from its split (None before
        ``fit``)."""
        if self.seen_movies.numel() == 0 and int(self.seen_ptr[-1]) == 0:
            return None
        return _tensor_digest(self.seen_ptr, self.seen_movies)

    def check_data(self, data: Any, where: str | None = None) -> None:
        """Raise :class:`CheckpointMismatchError` unless ``data`` is what this model was
        trained on.

        ``data``: a split (its id maps, and its train edges must match the ones the model was
        fitted on), a graph or an :class:`~graphrec.data.ids.IdMaps` (the id maps must match:
        same data set, same users and movies in the same node order). A model without id
        maps is checked by its counts."""
        from graphrec.data.split import InteractionSplit

        where = where or f"this {type(self).__name__}"
        if isinstance(data, IdMaps):
            theirs = data
        elif isinstance(data, InteractionSplit):
            theirs = data.ids
        else:
            theirs = IdMaps.from_graph(data)
        sizes = (
            (theirs.num_users, theirs.num_movies)
            if theirs is not None
            else (data.num_users, data.num_movies)
        )
        mine = self.ids
        same = sizes == (self.num_users, self.num_movies)
        if same and mine is not None and theirs is not None:
            same = (mine.dataset, mine.users, mine.movies) == (
                theirs.dataset,
                theirs.users,
                theirs.movies,
            )
        if not same:
            raise CheckpointMismatchError(
                f"{where} was trained on {_describe(mine, self.num_users, self.num_movies)} but "
                f"is used with {_describe(theirs, *sizes)}: use it with the data it was trained "
                "on, or retrain it on this data"
            )
        if isinstance(data, InteractionSplit):
            own = self._train_digest()
            other = _tensor_digest(data.train_ptr, data.train_movies)
            if own is not None and own != other:
                raise CheckpointMismatchError(
                    f"{where} was trained on another split of "
                    f"{mine.dataset if mine else 'these data'}: its train edges have digest "
                    f"{own}, this split's {other} (another --min-rating, or other ratings); use "
                    "the split it was trained on, or retrain"
                )

    @classmethod
    def load(
        cls, path: str | os.PathLike, map_location: str = "cpu", data: Any = None
    ) -> Recommender:
        """Rebuild a saved model (any registered class when called on ``Recommender``).

        Every way a folder can be wrong is a :class:`~graphrec.io.CheckpointError` naming the
        file: no or unreadable ``model.json``, one without ``class``, a ``weights.pt`` that
        holds pickled objects (refused, never unpickled), other tensors, or NaN/inf weights,
        id maps that do not match their digest. ``data`` (a split, a graph or id maps): also
        refuse a model trained on other data (:meth:`check_data`)."""
        path = Path(path)
        spec_file = path / "model.json"
        if not spec_file.is_file():
            raise CheckpointNotFoundError(
                f"{spec_file} not found: {path} is not a saved model; pass the folder a "
                "model's save() wrote (a run's model/)"
            )
        try:
            spec = json.loads(spec_file.read_text())
        except (UnicodeDecodeError, ValueError) as exc:
            raise CheckpointError(
                f"{spec_file} is not valid JSON ({exc}): the checkpoint is damaged; retrain, or "
                "pass the folder a model's save() wrote"
            ) from None
        name = spec.get("class") if isinstance(spec, dict) else None
        if not isinstance(name, str) or not isinstance(spec.get("hparams"), dict):
            missing = "class" if not isinstance(name, str) else "hparams"
            raise CheckpointError(
                f"{spec_file} has no {missing!r}: not a graphrec checkpoint (model.json names "
                "the model class and its arguments); pass the folder a model's save() wrote"
            )
        if name not in MODEL_REGISTRY:
            raise ValueError(
                f"{path} holds a {name}, which is not a known model class "
                f"(import its module first); known: {sorted(MODEL_REGISTRY)}"
            )
        klass = MODEL_REGISTRY[name]
        if cls is not Recommender and not issubclass(klass, cls):
            raise TypeError(f"{path} holds a {name}, not a {cls.__name__}")
        hp = dict(spec["hparams"])
        try:
            model = klass(**hp, seed=None)
        except TypeError as exc:  # a checkpoint of an earlier graphrec (e.g. "factors")
            raise ValueError(
                f"{path} holds a {name} saved with arguments this graphrec does not take "
                f"({exc}); it was saved by an earlier version: retrain it"
            ) from None
        weights = path / "weights.pt"
        if not weights.is_file():
            raise CheckpointNotFoundError(
                f"{weights} not found: the checkpoint in {path} is incomplete; retrain"
            )
        state = load_tensors(weights, map_location)
        for key, tensor in state.items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise CheckpointError(
                    f"{weights} holds NaN/inf in {key}: the checkpoint is damaged; retrain"
                )
        # buffers whose size depends on data (seen lists) are resized before loading
        for key in ("seen_ptr", "seen_movies"):
            if key in state:
                setattr(model, key, torch.empty_like(state[key]))
        model.load_extra_state(spec.get("extra", {}))
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(
                f"{weights} does not fit the {name} that {spec_file} describes ({first}): the "
                "checkpoint is damaged; retrain"
            ) from None
        model.meta = spec.get("meta", {})
        if spec.get("ids"):
            try:
                model.ids = IdMaps.from_json(spec["ids"])
            except (KeyError, TypeError, ValueError) as exc:
                raise CheckpointError(
                    f"{spec_file}: its id maps cannot be read ({exc}): the checkpoint is "
                    "damaged; retrain"
                ) from None
            recorded = spec.get("ids_digest")
            if recorded is not None and recorded != _ids_digest(model.ids):
                raise CheckpointError(
                    f"{spec_file}: its id maps do not match their digest {recorded} (the file "
                    "was edited or damaged); retrain"
                )
        if data is not None:
            model.check_data(data, where=str(path))
        return model.eval()  # a loaded model scores; dropout must not apply


class FinalVectorModel(Recommender):
    """A recommender that scores by the dot product of final user and movie vectors computed
    from the whole graph at once (LightGCN, HeteroGNN): subclasses give :meth:`_final`, and
    scoring, users as vectors (fold-in) and the item space follow from it."""

    @abstractmethod
    def _final(self) -> tuple[Tensor, Tensor]:
        """``([num_users, d], [num_movies, d])`` the final vectors (cached in eval mode)."""

    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] dot products of the final (user, movie) vectors."""
        users, movies = self.check_users(users), self.check_movies(movies)
        eu, em = self._final()
        return (eu[users] * em[movies]).sum(-1)

    def score_all(self, users: Tensor) -> Tensor:
        """[B, num_movies] as one matrix product of final vectors."""
        users = self.check_users(users)
        eu, em = self._final()
        return eu[users] @ em.T

    def _frozen_movies(self) -> Tensor:
        """[num_movies, d] final movie vectors, no gradient."""
        with torch.no_grad():
            return self._final()[1]

    def user_vectors(self, users: Tensor) -> Tensor:
        """[B, d] the final user vectors."""
        users = self.check_users(users)
        with torch.no_grad():
            return self._final()[0][users]

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        return (vectors[rows] * self._frozen_movies()[movies]).sum(-1)

    def score_user_vectors(self, vectors: Tensor) -> Tensor:
        return vectors @ self._frozen_movies().T

    def item_vectors(self) -> Tensor:
        """[num_movies, d] the final movie vectors."""
        return self._frozen_movies().clone()


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint folder without ``model.json`` or ``weights.pt``."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint used with data other than the data it was trained on."""


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:16]


def _ids_digest(ids: IdMaps) -> str:
    """Digest of a graph's identity: the data set's name and its raw ids in node order."""
    body = json.dumps([ids.dataset, ids.users, ids.movies], separators=(",", ":"), default=str)
    return _digest([body.encode()])


def _tensor_digest(*tensors: Tensor) -> str:
    return _digest([t.detach().cpu().to(torch.int64).numpy().tobytes() for t in tensors])


def _describe(ids: IdMaps | None, users: int, movies: int) -> str:
    if ids is None:
        return f"a graph of {users} users and {movies} movies"
    return f"{ids.dataset} ({users} users, {movies} movies, ids {_ids_digest(ids)})"


def top_k(scores: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """``(indices [B, k], values [B, k])`` of each row's ``k`` largest scores, best first;
    tied scores go to the lower index (``torch.topk`` orders ties differently with the batch
    size, so one user's list would depend on who else was asked; closed-form models such as
    ItemKNN give many exact ties)."""
    values, indices = torch.sort(scores, dim=1, descending=True, stable=True)
    return indices[:, :k], values[:, :k]


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)

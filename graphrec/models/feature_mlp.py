r"""Feature MLP: a multi-layer perceptron over node attributes gathered along each edge.

A content-based neighbour of NCF's MLP tower (He et al., *Neural Collaborative Filtering*,
WWW 2017, section 3.3) in the style of Wide & Deep's deep part (Cheng et al., DLRS 2016):
the input of a (user, movie) pair is the concatenation of the user's attributes ``user.x``
(age, gender, occupation, zip region) and the movie's attributes ``movie.x`` (genres, year),
optionally followed by learned id embeddings:

.. math::
    a_0 = [x_u;\ p_u;\ x_i;\ q_i], \quad a_\ell = \mathrm{ReLU}(W_\ell a_{\ell-1} + b_\ell),
    \quad \hat{y}_{ui} = h^\top a_L + b

Two objectives:

- ``rating``: :math:`\hat{y}_{ui}` is the predicted rating, trained with mean squared error on
  the train ratings (the bias starts at the train mean); validated by RMSE on the valid
  ratings. :meth:`rating_metrics` gives RMSE and MAE.
- ``ranking``: :math:`\hat{y}_{ui}` is a logit, trained on implicit feedback with sampled
  negatives and binary cross-entropy.

Both go through the one loop of :mod:`graphrec.train` (``model.fit(split)``): the model's
``fit_objective`` is ``rating`` or ``bce``, and its hooks (:meth:`rating_loss`,
:meth:`validation`, :meth:`before_fit`) supply what differs.

Either way the model obeys the recommender contract (``score``, ``score_all``,
``recommend``, ``save``/``load``), so it is evaluated under the ``sampled`` and ``full``
protocols like every other model. A new user folds in from its attributes
(:meth:`FeatureMLP.user_features`) and, with ``use_ids``, liked movies, which set a new id
embedding by the ranking objective (:meth:`~graphrec.models.base.Recommender.fold_in`).

**Built for attribution.** The feature tables are buffers (saved with the weights), and
``forward(x [B, F_u + F_m], users [B], movies [B])`` is a plain differentiable function of
the concatenated feature input, so Captum can attribute on ``x`` directly (the ids ride
along as ``additional_forward_args``). The id embeddings are :class:`IdEmbedding` layers
that map id ``-1`` to the zero vector: that is the reference input for
``LayerIntegratedGradients`` and lets a model with ``use_ids=True`` score a user it has
never seen from attributes alone. With ``use_ids=False`` the model only sees attributes and
generalises to unseen users and movies by construction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphrec.models.base import Recommender

__all__ = ["FeatureMLP", "IdEmbedding", "OBJECTIVES"]

OBJECTIVES = ("rating", "ranking")
#: rows of the [users x movies x width] activation block that ``score_all`` builds at once
_SCORE_ALL_CHUNK = 1 << 22


class IdEmbedding(nn.Embedding):
    """An embedding table whose index ``-1`` maps to the zero vector (the reference id).

    Args:
        num_embeddings: number of ids.
        embedding_dim: size of each vector.
    """

    def forward(self, ids: Tensor) -> Tensor:
        """[B, d] vectors of ``ids`` [B]; rows with id ``-1`` are zero."""
        known = ids >= 0
        return super().forward(ids.clamp(min=0)) * known.unsqueeze(-1).to(self.weight.dtype)


class FeatureMLP(Recommender):
    r"""MLP over ``[user.x; user id embedding; movie.x; movie id embedding]`` per edge.

    See the module docstring for the scoring rule and the two objectives.

    Args:
        num_users: number of user nodes.
        num_movies: number of movie nodes.
        user_x: [num_users, F_u] user attributes (default: zeros of ``num_user_features``
            columns, as when a checkpoint is being loaded).
        movie_x: [num_movies, F_m] movie attributes (default: zeros, likewise).
        num_user_features: F_u when ``user_x`` is not given (default 0).
        num_movie_features: F_m when ``movie_x`` is not given (default 0).
        user_feature_names: one name per user column (default ``u0, u1, ...``).
        movie_feature_names: one name per movie column (default ``m0, m1, ...``).
        use_ids: add learned user and movie id embeddings (default True); False gives a
            pure attribute model that scores unseen users and movies.
        embedding_dim: size of each id embedding (default 16).
        layers: hidden sizes, each followed by ReLU and dropout (default ``(64, 32)``).
        dropout: dropout after each hidden layer (default 0.1).
        objective: ``rating`` (default; scores are predicted ratings) or ``ranking``
            (scores are logits of implicit feedback).
        seed: seeds the initial weights (default 0).

    Training defaults (:meth:`training_defaults`): ``rating``: up to 30 epochs, batch 2048,
    Adam lr 3e-3, patience 3 (on valid RMSE); ``ranking``: up to 30 epochs, batch 4096, lr
    5e-3, 4 negatives per positive, patience 5 (on valid NDCG@10).
    """

    OBJECTIVE_CHOICES = OBJECTIVES

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        user_x: Tensor | None = None,
        movie_x: Tensor | None = None,
        *,
        num_user_features: int = 0,
        num_movie_features: int = 0,
        user_feature_names: Sequence[str] | None = None,
        movie_feature_names: Sequence[str] | None = None,
        use_ids: bool = True,
        embedding_dim: int = 16,
        layers: Sequence[int] = (64, 32),
        dropout: float = 0.1,
        objective: str = "rating",
        seed: int | None = 0,
    ) -> None:
        super().__init__(num_users, num_movies, seed)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")
        layers = tuple(int(h) for h in layers)
        if not layers or min(layers) < 1:
            raise ValueError(f"layers must be a non-empty list of positive sizes, not {layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {dropout}")
        if use_ids and embedding_dim < 1:
            raise ValueError(f"embedding_dim must be positive, not {embedding_dim}")
        ux = self._table(user_x, num_users, num_user_features, "user_x", "num_users")
        mx = self._table(movie_x, num_movies, num_movie_features, "movie_x", "num_movies")
        fu, fm = ux.size(1), mx.size(1)
        if fu + fm == 0 and not use_ids:
            raise ValueError("no attributes and use_ids=False: the model would have no input")
        unames = list(user_feature_names or [f"u{i}" for i in range(fu)])
        mnames = list(movie_feature_names or [f"m{i}" for i in range(fm)])
        if len(unames) != fu or len(mnames) != fm:
            raise ValueError(
                f"{len(unames)} user / {len(mnames)} movie feature names for {fu} / {fm} columns"
            )
        self.register_buffer("user_x", ux)
        self.register_buffer("movie_x", mx)
        self.hparams.update(
            num_user_features=fu,
            num_movie_features=fm,
            user_feature_names=unames,
            movie_feature_names=mnames,
            use_ids=bool(use_ids),
            embedding_dim=int(embedding_dim) if use_ids else 0,
            layers=list(layers),
            dropout=float(dropout),
            objective=objective,
        )
        d = int(embedding_dim) if use_ids else 0
        self.use_ids, self.objective = bool(use_ids), objective
        self.num_user_features, self.num_movie_features = fu, fm
        self.user_embedding = IdEmbedding(num_users, d) if use_ids else None
        self.movie_embedding = IdEmbedding(num_movies, d) if use_ids else None
        if use_ids:
            nn.init.normal_(self.user_embedding.weight, std=0.01)
            nn.init.normal_(self.movie_embedding.weight, std=0.01)
        self.in_user = fu + d
        self.first = nn.Linear(fu + fm + 2 * d, layers[0])
        rest: list[nn.Module] = [nn.ReLU(), nn.Dropout(dropout)]
        for a, b in zip(layers[:-1], layers[1:], strict=True):
            rest += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
        self.rest = nn.Sequential(*rest)
        self.out = nn.Linear(layers[-1], 1)

    @staticmethod
    def _table(x: Tensor | None, rows: int, cols: int, name: str, what: str) -> Tensor:
        if x is None:
            return torch.zeros(rows, int(cols))
        x = torch.as_tensor(x, dtype=torch.float32)
        if x.dim() != 2 or x.size(0) != rows:
            raise ValueError(f"{name} must be [{what}={rows}, F], not {list(x.shape)}")
        return x.detach().clone()

    @classmethod
    def from_split(cls, split, data=None, **kwargs: Any) -> FeatureMLP:
        """Sized for ``split``, with the attributes of ``data`` (required: this model reads
        node attributes)."""
        if data is None:
            raise ValueError("FeatureMLP reads node attributes: pass the graph as data=")
        return cls.from_graph(data, **kwargs)

    @classmethod
    def from_graph(cls, data, **kwargs: Any) -> FeatureMLP:
        """Build from a graph of :func:`graphrec.data.load_movielens` (features and names)."""
        return cls(
            data["user"].num_nodes,
            data["movie"].num_nodes,
            data["user"].x,
            data["movie"].x,
            user_feature_names=data["user"].feature_names,
            movie_feature_names=data["movie"].feature_names,
            **kwargs,
        )

    # ------------------------------------------------------------------ features
    @property
    def feature_names(self) -> list[str]:
        """Names of the ``F_u + F_m`` columns of :meth:`features` (user columns first)."""
        return self.hparams["user_feature_names"] + self.hparams["movie_feature_names"]

    def features(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B, F_u + F_m] concatenated attributes of (users[b], movies[b]) (no index checks)."""
        return torch.cat([self.user_x[users], self.movie_x[movies]], dim=-1)

    def forward(self, x: Tensor, users: Tensor | None = None, movies: Tensor | None = None):
        """[B] scores from attributes ``x`` [B, F_u + F_m] and ids [B] (no index checks).

        The function Captum attributes on. ``users``/``movies`` are needed when
        ``use_ids``; id ``-1`` stands for "no id" (zero embedding).
        """
        fu = self.num_user_features
        parts = [x[:, :fu]]
        if self.use_ids:
            if users is None or movies is None:
                raise ValueError("this FeatureMLP uses id embeddings: pass users and movies")
            parts += [self.user_embedding(users), x[:, fu:], self.movie_embedding(movies)]
        else:
            parts.append(x[:, fu:])
        h = self.rest(self.first(torch.cat(parts, dim=-1)))
        return self.out(h).squeeze(-1)

    forward_features = forward

    # ------------------------------------------------------------------ contract
    def score(self, users: Tensor, movies: Tensor) -> Tensor:
        """[B] predicted ratings (``rating``) or logits (``ranking``) of (users, movies)."""
        users, movies = self.check_users(users), self.check_movies(movies)
        return self(self.features(users, movies), users, movies)

    def _user_part(self, users: Tensor) -> Tensor:
        parts = [self.user_x[users]]
        if self.use_ids:
            parts.append(self.user_embedding(users))
        return torch.cat(parts, dim=-1)

    def _movie_part(self) -> Tensor:
        parts = [self.movie_x]
        if self.use_ids:
            parts.append(self.movie_embedding(torch.arange(self.num_movies, device=self.device)))
        return torch.cat(parts, dim=-1)

    def score_all(self, users: Tensor) -> Tensor:
        """[B, num_movies] scores of every movie; the first layer is split into a user half
        and a movie half computed once each, then broadcast over pairs in chunks."""
        users = self.check_users(users)
        w = self.first.weight
        c = self._movie_part() @ w[:, self.in_user :].T  # [M, h1]
        step = max(1, _SCORE_ALL_CHUNK // (self.num_movies * max(self.hparams["layers"])))
        blocks = []
        for s in range(0, users.numel(), step):
            a = self._user_part(users[s : s + step]) @ w[:, : self.in_user].T + self.first.bias
            blocks.append(self.out(self.rest(a.unsqueeze(1) + c.unsqueeze(0))).squeeze(-1))
        return torch.cat(blocks)

    # ------------------------------------------------------------------ users as vectors
    def user_vectors(self, users: Tensor) -> Tensor:
        """[B, F_u + d] the users' attributes and id embeddings, :math:`[x_u; p_u]`."""
        return self._user_part(self.check_users(users))

    def score_vector_pairs(self, vectors: Tensor, rows: Tensor, movies: Tensor) -> Tensor:
        movie = self._movie_part().detach()[movies]
        return self.out(self.rest(self.first(torch.cat([vectors[rows], movie], -1)))).squeeze(-1)

    def score_user_vectors(self, vectors: Tensor) -> Tensor:
        """[B, num_movies] scores for user vectors [B, F_u + d] (as :meth:`score_all`)."""
        w = self.first.weight
        c = self._movie_part() @ w[:, self.in_user :].T
        step = max(1, _SCORE_ALL_CHUNK // (self.num_movies * max(self.hparams["layers"])))
        blocks = []
        for s in range(0, vectors.size(0), step):
            a = vectors[s : s + step] @ w[:, : self.in_user].T + self.first.bias
            blocks.append(self.out(self.rest(a.unsqueeze(1) + c.unsqueeze(0))).squeeze(-1))
        return torch.cat(blocks) if blocks else vectors.new_zeros(0, self.num_movies)

    def item_vectors(self) -> Tensor:
        """[num_movies, h_1] each movie's part of the first layer,
        :math:`W_{movie} [x_i; q_i]`: the movie as the network first sees it."""
        return (self._movie_part() @ self.first.weight[:, self.in_user :].T).detach()

    def user_features(self, values: dict[str, Any] | None = None) -> tuple[Tensor, dict]:
        """[F_u] the attribute row of a new user, and what each variable was set to.

        Args:
            values: ``{variable: value}``: a continuous column (``age``) as the value the
                graph stores (ages are scaled to [0, 1] over the data set's range), a one-hot
                block (``gender``, ``occupation``, ``zip_region``) as its category (``F``,
                ``student``). A variable not given takes the mean over the known users (the
                average user), as the explanations' reference does.

        Returns:
            ``(row [F_u], {variable: value or "average"})``.

        Raises:
            FoldInError: an unknown variable or category (the known ones are named).
        """
        from graphrec.models.base import FoldInError

        names = self.hparams["user_feature_names"]
        row = self.user_x.float().mean(0).clone()
        prefixes = list(dict.fromkeys(n.split("=", 1)[0] for n in names))
        given = dict(values or {})
        unknown = sorted(set(given) - set(prefixes))
        if unknown:
            raise FoldInError(
                f"this FeatureMLP has no user attribute {unknown[0]!r}; it has: "
                f"{', '.join(prefixes) or 'none'}"
            )
        used: dict[str, Any] = {}
        for prefix in prefixes:
            cols = [j for j, n in enumerate(names) if n.split("=", 1)[0] == prefix]
            if prefix not in given:
                used[prefix] = "average"
                continue
            value = given[prefix]
            if len(cols) == 1 and "=" not in names[cols[0]]:
                row[cols[0]] = float(value)
                used[prefix] = float(value)
                continue
            cats = {names[j].split("=", 1)[1].lower(): j for j in cols}
            j = cats.get(str(value).strip().lower())
            if j is None:
                known = ", ".join(names[c].split("=", 1)[1] for c in cols)
                raise FoldInError(f"{prefix} {value!r} is not one of this data set's: {known}")
            row[cols] = 0.0
            row[j] = 1.0
            used[prefix] = names[j].split("=", 1)[1]
        return row, used

    def _folds_in_without_movies(self, options: dict[str, Any]) -> bool:
        return True  # attributes alone (or the average user's) make a new user

    def _fold_in(self, liked, disliked, user_features: Tensor | None = None, **options) -> Tensor:
        """A new user from attributes and liked movies: ``user_features`` [B, F_u] (or [F_u];
        default: the average user's, see :meth:`user_features`) with the id embedding at
        zero, the model's "no id"; liked (and disliked) movies then set the id embedding by the
        ranking objective, attributes and every weight frozen."""
        from graphrec.models.base import FoldInError

        b = len(liked)
        x = self.user_features()[0] if user_features is None else torch.as_tensor(user_features)
        x = x.float().to(self.device).view(-1, self.num_user_features).expand(b, -1)
        d = self.hparams["embedding_dim"]
        init = torch.cat([x, torch.zeros(b, d, device=self.device)], 1)
        if not any(p.numel() or n.numel() for p, n in zip(liked, disliked, strict=True)):
            return init
        if not self.use_ids:
            raise FoldInError(
                "this FeatureMLP has no user id embedding (use_ids=False): it folds in from "
                "attributes alone, not from liked movies"
            )
        free = torch.zeros(init.size(1), dtype=torch.bool)
        free[self.num_user_features :] = True
        return self.fold_in_by_objective(liked, disliked, init, free, **options)

    # ------------------------------------------------------------------ training
    def loss(self, users: Tensor, movies: Tensor, labels: Tensor) -> Tensor:
        """Pointwise BCE on the logits of (users, movies) [B] with 0/1 ``labels`` [B]
        (the ``ranking`` loss; :func:`graphrec.train.fit` calls it)."""
        logits = self(self.features(users, movies), users, movies)
        return F.binary_cross_entropy_with_logits(logits, labels)

    @property
    def fit_objective(self) -> str:  # type: ignore[override]
        """``rating`` (MSE on ratings) or ``bce`` (the ``ranking`` objective)."""
        return "rating" if self.objective == "rating" else "bce"

    #: the training defaults of each objective (:meth:`training_defaults`; the CLI's help
    #: shows both)
    train_defaults_by_objective: ClassVar[dict[str, dict[str, Any]]] = {
        "rating": {"epochs": 30, "batch_size": 2048, "lr": 3e-3, "patience": 3},
        "ranking": {
            "epochs": 30,
            "batch_size": 4096,
            "lr": 5e-3,
            "num_negatives": 4,
            "patience": 5,
        },
    }

    def training_defaults(self) -> dict[str, Any]:
        return dict(self.train_defaults_by_objective[self.objective])

    def before_fit(self, split, config) -> None:
        """Rating objective: start the output bias at the train mean rating."""
        if self.objective != "rating":
            return
        if split.valid_rating.numel() == 0:
            raise ValueError("the split has no valid ratings to stop on")
        with torch.no_grad():
            self.out.bias.fill_(float(split.train_rating.float().mean()))

    def rating_loss(self, users: Tensor, movies: Tensor, ratings: Tensor) -> Tensor:
        """Mean squared error of the predicted ratings of (users, movies) [B]."""
        return F.mse_loss(self(self.features(users, movies), users, movies), ratings)

    def validation(self, split, config) -> tuple[float, dict, str]:
        """Rating objective: minus valid RMSE (valid MAE, HR@K and NDCG@K recorded beside it);
        ranking: valid NDCG@K, as every ranking model."""
        from graphrec.evaluate import evaluate
        from graphrec.train import ranking_validation

        if self.objective != "rating":
            return ranking_validation(self, split, config)
        valid = self.rating_metrics(split, "valid")
        k = config.eval_k
        ranking = evaluate(self, split, "valid", config.eval_protocol, k=k, seed=config.seed)
        fields = {
            "valid_rmse": valid["rmse"],
            "valid_mae": valid["mae"],
            f"valid_hr@{k}": ranking[f"hr@{k}"],
            f"valid_ndcg@{k}": ranking[f"ndcg@{k}"],
        }
        return -valid["rmse"], fields, "valid RMSE, best weights restored"

    @torch.no_grad()
    def rating_metrics(self, split, stage: str = "test") -> dict[str, float]:
        """RMSE and MAE of the predicted ratings of ``stage``'s held-out edges
        (``rating`` objective only)."""
        if self.objective != "rating":
            raise ValueError("rating metrics need a model trained with objective='rating'")
        (users, movies), target = split.held_out(stage), getattr(split, f"{stage}_rating")
        was = self.training
        self.eval()
        try:
            pred = self.score(users, movies).float().cpu()
        finally:
            self.train(was)
        err = pred - target.float()
        return {
            "rmse": math.sqrt(float((err**2).mean())),
            "mae": float(err.abs().mean()),
            "ratings": int(err.numel()),
        }

"""The feature space explanations speak in: columns, variables and blocks.

The model's input ``x`` [N, F] has one **column** per graph feature name (``age``,
``gender=F``, ``gender=M``, ``occupation=doctor``, ..., ``genre=Comedy``, ..., ``year``).
Explanations are compared on **variables**, the things a person can change one at a time:

- ``continuous``: one column (``age``, ``year``);
- ``onehot``: a block of columns sharing a prefix where every node has exactly one column
  set (``gender``, ``occupation``, ``zip_region``); locally it is named after its active
  value (``occupation=doctor``), globally after its prefix (``occupation``);
- ``binary``: one 0/1 column of a multi-hot block (``genre=Comedy``).

Whether a prefix is one-hot or multi-hot is read from the data (``genre`` is multi-hot on
MovieLens), not hard-coded. **Blocks** group variables by prefix (all genres as ``genre``,
the occupation one-hot as ``occupation``), as Captum's ``feature_mask`` groups do.

A **compact** encoding (one number per variable: the category index of a one-hot variable,
0/1 of a binary one, the value of a continuous one) is what SHAP's KernelExplainer and
LIME perturb, so that a one-hot variable is always switched as a whole and never becomes
two occupations at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["Variable", "FeatureSpace"]


@dataclass(frozen=True)
class Variable:
    """One explainable variable (see the module docstring)."""

    name: str  #: global name: ``age``, ``occupation``, ``genre=Comedy``
    kind: str  #: ``continuous``, ``onehot`` or ``binary``
    columns: tuple[int, ...]  #: its column indices in ``x``
    categories: tuple[str, ...]  #: one-hot values (``F``, ``M``); ``()`` otherwise
    block: str  #: the feature-mask block: ``age``, ``gender``, ``genre``, ...
    side: str  #: ``user`` or ``movie``


def _prefix(name: str) -> str:
    return name.split("=", 1)[0] if "=" in name else name


class FeatureSpace:
    """Variables and blocks over the ``F_u + F_m`` columns of a feature model's input.

    Args:
        user_names, movie_names: column names of ``user.x`` and ``movie.x``.
        user_x, movie_x: the node feature tables [num_users, F_u], [num_movies, F_m]
            (read to tell one-hot blocks from multi-hot ones).
    """

    def __init__(
        self, user_names: list[str], movie_names: list[str], user_x: Tensor, movie_x: Tensor
    ) -> None:
        self.column_names = list(user_names) + list(movie_names)
        self.num_user_columns = len(user_names)
        variables: list[Variable] = []
        for side, names, table, offset in (
            ("user", user_names, user_x, 0),
            ("movie", movie_names, movie_x, len(user_names)),
        ):
            order: list[str] = []
            members: dict[str, list[int]] = {}
            for j, n in enumerate(names):
                p = _prefix(n)
                if p not in members:
                    order.append(p)
                    members[p] = []
                members[p].append(j)
            for p in order:
                cols = members[p]
                if len(cols) == 1 and "=" not in names[cols[0]]:
                    variables.append(Variable(p, "continuous", (offset + cols[0],), (), p, side))
                    continue
                block = table[:, cols]
                onehot = bool(
                    block.numel()
                    and ((block == 0) | (block == 1)).all()
                    and (block.sum(1) == 1).all()
                )
                if onehot:
                    cats = tuple(names[j].split("=", 1)[1] for j in cols)
                    cols_t = tuple(offset + j for j in cols)
                    variables.append(Variable(p, "onehot", cols_t, cats, p, side))
                else:
                    for j in cols:
                        variables.append(Variable(names[j], "binary", (offset + j,), (), p, side))
        self.variables = variables
        self.names = [v.name for v in variables]
        self.blocks = list(dict.fromkeys(v.block for v in variables))
        col_var = torch.empty(len(self.column_names), dtype=torch.long)
        for i, v in enumerate(variables):
            col_var[list(v.columns)] = i
        self.column_variable = col_var  #: [F] variable index of each column
        block_idx = {b: i for i, b in enumerate(self.blocks)}
        self.variable_block = torch.tensor([block_idx[v.block] for v in variables])  #: [V]

    @classmethod
    def from_model(cls, model) -> FeatureSpace:
        """The space of a :class:`graphrec.models.feature_mlp.FeatureMLP`."""
        hp = model.hparams
        return cls(
            hp["user_feature_names"],
            hp["movie_feature_names"],
            model.user_x.cpu(),
            model.movie_x.cpu(),
        )

    def __len__(self) -> int:
        return len(self.variables)

    # ------------------------------------------------------------------ masks
    def variable_mask(self) -> Tensor:
        """[1, F] variable index of each column (a Captum ``feature_mask``)."""
        return self.column_variable.view(1, -1).clone()

    def block_mask(self) -> Tensor:
        """[1, F] block index of each column (a Captum ``feature_mask``)."""
        return self.variable_block[self.column_variable].view(1, -1).clone()

    def to_variables(self, columns: Tensor) -> Tensor:
        """[N, V] sums of the per-column values [N, F] over each variable's columns."""
        out = torch.zeros(columns.size(0), len(self), dtype=columns.dtype)
        return out.index_add_(1, self.column_variable, columns.detach().cpu())

    def to_blocks(self, variables: Tensor) -> Tensor:
        """[N, B] sums of per-variable values [N, V] over each block."""
        out = torch.zeros(variables.size(0), len(self.blocks), dtype=variables.dtype)
        return out.index_add_(1, self.variable_block, variables)

    # ------------------------------------------------------------------ names
    def local_names(self, x: Tensor) -> list[str]:
        """Names of the variables for one input row ``x`` [F]: one-hot variables are named
        after their active value (``occupation=doctor``)."""
        out = []
        for v in self.variables:
            if v.kind == "onehot":
                vals = x[list(v.columns)]
                out.append(f"{v.name}={v.categories[int(torch.argmax(vals))]}")
            else:
                out.append(v.name)
        return out

    def display_names(self, x: Tensor) -> list[str]:
        """:meth:`local_names` for people: a binary variable the row does not have reads
        ``genre=Action absent`` (its attribution is the effect of the absence: the
        reference row has a fraction of an Action genre, this movie none)."""
        names = self.local_names(x)
        for i, v in enumerate(self.variables):
            if v.kind == "binary" and float(x[v.columns[0]]) == 0.0:
                names[i] = f"{names[i]} absent"
        return names

    # ------------------------------------------------------------------ compact encoding
    def encode(self, x: Tensor) -> np.ndarray:
        """[N, V] compact float64 encoding of inputs ``x`` [N, F]."""
        x = x.detach().cpu()
        out = np.empty((x.size(0), len(self)), dtype=np.float64)
        for i, v in enumerate(self.variables):
            block = x[:, list(v.columns)]
            out[:, i] = (block.argmax(1) if v.kind == "onehot" else block[:, 0]).numpy()
        return out

    def decode(self, z: np.ndarray | Tensor) -> Tensor:
        """[N, F] float32 inputs from a compact encoding [N, V] (category indices are
        rounded and clipped, so LIME's and SHAP's samples always decode to valid rows)."""
        z = torch.as_tensor(np.asarray(z, dtype=np.float64)).view(-1, len(self))
        x = torch.zeros(z.size(0), len(self.column_names))
        for i, v in enumerate(self.variables):
            if v.kind == "onehot":
                idx = z[:, i].round().long().clamp_(0, len(v.columns) - 1)
                cols = torch.tensor(v.columns)
                x[torch.arange(z.size(0)), cols[idx]] = 1.0
            else:
                x[:, v.columns[0]] = z[:, i].float()
        return x

    def categorical(self) -> list[int]:
        """Indices of the categorical (one-hot and binary) variables."""
        return [i for i, v in enumerate(self.variables) if v.kind != "continuous"]

    def categorical_names(self) -> dict[int, list[str]]:
        """``{variable: [value names]}`` for LIME (binary variables: ``no``/``yes``)."""
        return {
            i: list(v.categories) if v.kind == "onehot" else ["no", "yes"]
            for i, v in enumerate(self.variables)
            if v.kind != "continuous"
        }

    # ------------------------------------------------------------------ deletion
    def remove(self, x: Tensor, drop: Tensor, baseline: Tensor) -> Tensor:
        """[N, F] copy of ``x`` with the variables flagged in ``drop`` [N, V] (bool) set to
        their ``baseline`` [F] columns."""
        cols = drop[:, self.column_variable.to(drop.device)]  # [N, F]
        return torch.where(cols, baseline.view(1, -1).to(x), x)
